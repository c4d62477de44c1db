use panoptic::billable;

#[derive(Debug)]
struct QueryError;

#[billable(provider = "gcp", service = "BigQuery", budget = "bq-daily")]
fn scan() -> Result<u64, QueryError> {
    Ok(42)
}

fn main() {
    let _ = scan();
}
