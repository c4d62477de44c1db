//! `panoptic budgets`: Budgets: set, remove, list with spent, reserved, limit and forecast.

use clap::Args;

use crate::args::Global;

/// `panoptic budgets`.
#[derive(Debug, Args)]
pub struct BudgetsArgs {}

pub async fn run(_global: &Global, _args: &BudgetsArgs) -> Result<(), String> {
    Err("`panoptic budgets` is not built yet".to_owned())
}
