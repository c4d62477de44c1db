//! A budget that holds before the call: each `summarize` reserves its
//! estimate in MongoDB first, shared with every process using the same
//! database, and is refused once the day's $0.50 cannot cover it.
//!
//! ```text
//! cargo run --example budgets          # needs a MongoDB at MONGODB_URI (budgets live there)
//! panoptic budgets                     # spent, reserved, limit, forecast
//! ```

use panoptic::budget::{Budget, Mode, Period};
use panoptic::{BudgetExceeded, Decimal, Panoptic, billable};

#[derive(Debug)]
enum AppError {
    OverBudget(BudgetExceeded),
}

impl From<BudgetExceeded> for AppError {
    fn from(refused: BudgetExceeded) -> Self {
        AppError::OverBudget(refused)
    }
}

/// Reserves $0.12 before running; settles at the $0.10 it cost.
#[billable(
    provider = "openai",
    service = "ChatCompletions",
    budget = "llm-daily",
    estimate = 0.12,
    amount = 0.10
)]
fn summarize(doc: u32) -> Result<String, AppError> {
    Ok(format!("summary of document {doc}"))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let guard = Panoptic::builder()
        .username("budget example")
        .budget(
            Budget::new("llm-daily", Period::Day, Decimal::new(50, 2))
                .provider("openai")
                .time_zone("America/New_York")
                .mode(Mode::Enforce)
                .alerts([50, 80, 100]),
        )
        .on_budget_alert(|alert| println!("ALERT: {alert}"))
        .install()?;
    for doc in 0..8 {
        match summarize(doc) {
            Ok(summary) => println!("{summary}"),
            Err(AppError::OverBudget(refused)) => println!("refused: {refused}"),
        }
    }
    match guard.budgets() {
        Some(statuses) => {
            for s in statuses {
                println!(
                    "{}: {} spent, {} reserved of {} ({}), forecast {}",
                    s.budget.name,
                    s.spent,
                    s.reserved,
                    s.budget.limit,
                    s.period.name,
                    s.forecast.end_of_period.round_dp(2)
                );
            }
        }
        None => println!("budgets live in MongoDB, which did not answer at MONGODB_URI"),
    }
    Ok(())
}
