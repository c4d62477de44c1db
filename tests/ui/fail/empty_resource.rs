use panoptic::billable;

#[billable(provider = "gcp", service = "BigQuery", resource = "")]
fn report() {}

fn main() {}
