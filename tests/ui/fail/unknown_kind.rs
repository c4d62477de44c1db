use panoptic::billable;

#[billable(provider = "gcp", service = "BigQuery", kind = "invoices")]
fn report() {}

fn main() {}
