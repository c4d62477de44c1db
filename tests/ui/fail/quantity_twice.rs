use panoptic::billable;

#[billable(provider = "gcp", service = "BigQuery", quantity = 1, quantity_from = |n: &u64| *n)]
fn report() -> u64 {
    7
}

fn main() {}
