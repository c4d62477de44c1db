use panoptic::billable;

#[billable(provider = "gcp", service = "BigQuery", category = "CLOUD")]
fn report() {}

fn main() {}
