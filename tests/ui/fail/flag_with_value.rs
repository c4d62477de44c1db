use panoptic::billable;

#[billable(provider = "gcp", service = "BigQuery", err = true)]
fn report() -> Result<(), String> {
    Ok(())
}

fn main() {}
