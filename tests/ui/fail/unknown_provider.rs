use panoptic::billable;

#[billable(provider = "gpc", service = "BigQuery")]
fn report() {}

fn main() {}
