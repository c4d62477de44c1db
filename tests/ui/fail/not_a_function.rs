use panoptic::billable;

#[billable(provider = "gcp", service = "BigQuery")]
struct Report;

fn main() {}
