use panoptic::billable;

#[billable(provider = "gcp", service = "BigQuery", crate = "not a path!")]
fn report() {}

fn main() {}
