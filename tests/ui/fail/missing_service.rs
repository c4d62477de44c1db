use panoptic::billable;

#[billable(provider = "gcp")]
fn report() {}

fn main() {}
