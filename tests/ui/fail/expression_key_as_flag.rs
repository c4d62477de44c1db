use panoptic::billable;

#[billable(provider = "gcp", service = "BigQuery", quantity)]
fn report() {}

fn main() {}
