//! `panoptic prices`: The price book: every table with its age; `prices update` refreshes from the providers.

use clap::Args;

use crate::args::Global;

/// `panoptic prices`.
#[derive(Debug, Args)]
pub struct PricesArgs {}

pub async fn run(_global: &Global, _args: &PricesArgs) -> Result<(), String> {
    Err("`panoptic prices` is not built yet".to_owned())
}
