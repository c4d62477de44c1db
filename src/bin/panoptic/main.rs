//! `panoptic`: what your code cost, from MongoDB or the local spool.
//!
//! ```text
//! panoptic report --since 7d --by service,resource --format table
//! panoptic report --since 30d --html report.html
//! panoptic export --format jsonl --since 1d --output events.jsonl
//! panoptic replay            # deliver the spool now
//! panoptic replay --retry-set-aside   # also segments set aside earlier
//! panoptic stats             # what waits in the spool, set aside, dead letters
//! panoptic indexes           # check/create the indexes of every panoptic-* database
//! panoptic rollup --rebuild  # (re)compute the rollups reports read
//! ```
//!
//! One module per subcommand, each with its own arguments; what they share
//! (`options`: where the events are, time ranges, reaching MongoDB;
//! `render`: tables, CSV, JSON, HTML) knows none of them. Errors are one
//! line on stderr and a non-zero exit.

mod budgets;
mod export;
mod indexes;
mod options;
mod prices;
#[cfg(test)]
mod readme_commands;
mod reconcile;
mod render;
mod replay;
mod report;
mod rollup;
mod serve;
mod stats;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use options::Global;

/// What your code cost: reports, exports and spool delivery for panoptic.
#[derive(Debug, Parser)]
#[command(name = "panoptic", version, about)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
enum Command {
    /// Cost per group over a time range.
    Report(report::ReportArgs),
    /// Raw events of a time range: JSON lines, CSV, FOCUS (CSV, Parquet) or Excel.
    Export(export::ExportArgs),
    /// Deliver the spool to MongoDB now.
    Replay(replay::ReplayArgs),
    /// What waits in the spool, what was set aside, and the dead letters.
    Stats,
    /// Check (and create) the indexes of every panoptic-* database.
    Indexes,
    /// Recompute the rollups reports read instead of every event.
    Rollup(rollup::RollupArgs),
    /// The price book: every table with its age; `update` refreshes it.
    Prices(prices::PricesArgs),
    /// panoptic's estimates beside the provider's bill.
    Reconcile(reconcile::ReconcileArgs),
    /// Budgets: set, remove, list.
    Budgets(budgets::BudgetsArgs),
    /// A live cost dashboard in the browser.
    Serve(serve::ServeArgs),
}

impl Command {
    async fn run(&self, global: &Global) -> Result<(), String> {
        match self {
            Command::Report(args) => report::run(global, args).await,
            Command::Export(args) => export::run(global, args).await,
            Command::Replay(args) => replay::run(global, args).await,
            Command::Stats => stats::run(global),
            Command::Indexes => indexes::run(global).await,
            Command::Rollup(args) => rollup::run(global, args).await,
            Command::Prices(args) => prices::run(args).await,
            Command::Reconcile(args) => reconcile::run(global, args).await,
            Command::Budgets(args) => budgets::run(global, args).await,
            Command::Serve(args) => serve::run(global, args).await,
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version print as usual; a usage error is one line.
        Err(error) if !error.use_stderr() => error.exit(),
        Err(error) => {
            let text = error.to_string();
            let line = text.lines().next().unwrap_or_default();
            return fail(&format!(
                "{} (see `panoptic --help`)",
                line.trim_start_matches("error: ")
            ));
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return fail(&format!("cannot start: {error}")),
    };
    match runtime.block_on(cli.command.run(&cli.global)) {
        Ok(()) => ExitCode::SUCCESS,
        // Driver errors may quote the URI or its password.
        Err(message) => fail(&panoptic::config::redact_secrets(
            &cli.global.mongodb_uri,
            &message,
        )),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("panoptic: {message}");
    ExitCode::FAILURE
}
