use panoptic::billable;

#[billable(provider = gcp, service = "BigQuery")]
fn report() {}

fn main() {}
