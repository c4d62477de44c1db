use panoptic::billable;

const NIGHTLY: &str = "nightly";

#[billable(provider = "gcp", service = "BigQuery", tags(NIGHTLY))]
fn report() {}

fn main() {}
