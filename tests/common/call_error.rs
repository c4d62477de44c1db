//! The error of a test's budgeted `#[billable]` functions.

use std::fmt;

use panoptic::BudgetExceeded;

/// Refused by its budget before it ran, or failed on its own (`E`).
/// `#[billable(budget = …)]` hands a refusal back through `From`.
#[derive(Debug)]
pub enum CallError<E> {
    /// The budget could not hold the call's estimate.
    OverBudget(BudgetExceeded),
    /// The call ran and failed.
    Failed(E),
}

impl<E> From<BudgetExceeded> for CallError<E> {
    fn from(refused: BudgetExceeded) -> Self {
        CallError::OverBudget(refused)
    }
}

impl<E: fmt::Display> fmt::Display for CallError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::OverBudget(refused) => refused.fmt(f),
            CallError::Failed(error) => error.fmt(f),
        }
    }
}
