use panoptic::billable;

#[billable(provider = "gcp", servce = "BigQuery")]
fn report() {}

fn main() {}
