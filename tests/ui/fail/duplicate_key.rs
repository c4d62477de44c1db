use panoptic::billable;

#[billable(provider = "gcp", service = "BigQuery", service = "CloudRun")]
fn report() {}

fn main() {}
