use panoptic::billable;

#[billable(service = "BigQuery")]
fn report() {}

fn main() {}
