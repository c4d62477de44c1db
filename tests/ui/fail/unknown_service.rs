use panoptic::billable;

#[billable(provider = "gcp", service = "BigQeury")]
fn report() {}

fn main() {}
