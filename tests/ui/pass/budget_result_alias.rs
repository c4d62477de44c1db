use panoptic::{BudgetExceeded, billable};

#[derive(Debug)]
enum AppError {
    Budget(BudgetExceeded),
}

impl From<BudgetExceeded> for AppError {
    fn from(e: BudgetExceeded) -> Self {
        AppError::Budget(e)
    }
}

type AppResult<T> = Result<T, AppError>;

#[billable(provider = "gcp", service = "BigQuery", budget = "bq-daily", estimate = 0.5)]
fn scan(rows: u64) -> AppResult<u64> {
    Ok(rows)
}

#[billable(provider = "openai", service = "ChatCompletions", budget = "llm", estimate = 0.01)]
async fn ask() -> Result<String, AppError> {
    Ok(String::new())
}

fn main() {
    let _ = scan(1);
    let _ = ask();
    let _ = AppError::Budget;
}
