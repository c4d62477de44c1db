use panoptic::billable;

#[billable(provider = "gcp", service = "BigQuery", budget = "bq-daily", estimate = 0.5)]
fn scan() -> u64 {
    42
}

fn main() {
    let _ = scan();
}
