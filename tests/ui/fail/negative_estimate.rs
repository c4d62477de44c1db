use panoptic::billable;

#[derive(Debug)]
struct Refused;

impl From<panoptic::BudgetExceeded> for Refused {
    fn from(_: panoptic::BudgetExceeded) -> Refused {
        Refused
    }
}

#[billable(provider = "gcp", service = "BigQuery", budget = "daily", estimate = -0.5)]
fn scan() -> Result<u64, Refused> {
    Ok(42)
}

fn main() {
    let _ = scan();
}
