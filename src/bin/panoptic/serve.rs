//! `panoptic serve`: A live cost dashboard in the browser.

use clap::Args;

use crate::args::Global;

/// `panoptic serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {}

pub async fn run(_global: &Global, _args: &ServeArgs) -> Result<(), String> {
    Err("`panoptic serve` is not built yet".to_owned())
}
