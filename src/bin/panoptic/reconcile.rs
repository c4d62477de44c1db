//! `panoptic reconcile`: panoptic's estimates beside the provider's bill.

use clap::Args;

use crate::args::Global;

/// `panoptic reconcile`.
#[derive(Debug, Args)]
pub struct ReconcileArgs {}

pub async fn run(_global: &Global, _args: &ReconcileArgs) -> Result<(), String> {
    Err("`panoptic reconcile` is not built yet".to_owned())
}
