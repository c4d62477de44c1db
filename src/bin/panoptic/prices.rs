//! `panoptic prices`: the price book, every table with its age and every
//! figure flagged when stale; `prices update` compares a provider's
//! published prices with it and writes an override file on request.

mod list;
mod tables;
mod update;

use clap::{Args, Subcommand};

/// `panoptic prices`.
#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "\
Providers: openai, aws, mongodb_atlas (panoptic's price book) and gcp
(panoptic-gcp's table, in builds with the `gcp` feature).

The shipped tables are compiled in. Override files change them:
PANOPTIC_PRICES names book files (several joined like PATH, merged in order;
an entry there replaces the shipped entry), PANOPTIC_GCP_PRICES one Google
Cloud file. `panoptic prices update --write FILE` writes such a file.

Examples:
  panoptic prices                          # one line per table
  panoptic prices --figures --stale-after 90d
  panoptic prices --provider aws --figures --format csv
  panoptic prices update --provider aws    # show what AWS changed
  panoptic prices update --provider aws --write aws-prices.toml"
)]
pub struct PricesArgs {
    #[command(subcommand)]
    pub command: Option<PricesCommand>,
    #[command(flatten)]
    pub list: list::ListArgs,
}

/// What `panoptic prices` can do besides listing.
#[derive(Debug, Subcommand)]
pub enum PricesCommand {
    /// Compare a provider's published prices (AWS Price List offer files,
    /// the Google Cloud Billing Catalog) with the table; nothing is
    /// written without --write.
    Update(update::UpdateArgs),
}

/// Runs `panoptic prices`.
pub async fn run(args: &PricesArgs) -> Result<(), String> {
    match &args.command {
        Some(PricesCommand::Update(update)) => update::run(update).await,
        None => list::run(&args.list),
    }
}

/// The providers `--provider` accepts, in listing order.
fn known_providers() -> Vec<&'static str> {
    let mut names = vec!["openai", "aws", "mongodb_atlas"];
    if cfg!(feature = "gcp") {
        names.push("gcp");
    }
    names
}

/// The error for a provider `--provider` does not know.
fn unknown_provider(name: &str, known: &[&str]) -> String {
    format!("unknown provider `{name}`: use one of {}", known.join(", "))
}
