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
//! ```
//!
//! Errors are one line on stderr and a non-zero exit.

mod args;
mod budgets;
mod commands;
mod html;
mod output;
mod prices;
mod reconcile;
mod serve;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};

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
    let result = runtime.block_on(async {
        match cli.command {
            Command::Report(ref report) => commands::report(&cli.global, report).await,
            Command::Export(ref export) => commands::export(&cli.global, export).await,
            Command::Replay(ref replay) => commands::replay(&cli.global, replay).await,
            Command::Stats => commands::stats(&cli.global).await,
            Command::Indexes => commands::indexes(&cli.global).await,
            Command::Prices(ref args) => prices::run(&cli.global, args).await,
            Command::Reconcile(ref args) => reconcile::run(&cli.global, args).await,
            Command::Budgets(ref args) => budgets::run(&cli.global, args).await,
            Command::Serve(ref args) => serve::run(&cli.global, args).await,
        }
    });
    match result {
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
