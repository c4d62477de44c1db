use panoptic::billable;

#[billable(provider = "gcp", service = "BigQuery", currency = "dollars")]
fn report() {}

fn main() {}
