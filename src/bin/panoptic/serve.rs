//! `panoptic serve`: a live cost dashboard in the browser.
//!
//! Read-only: every route reads through the same [`CostQuery`] as
//! `panoptic report`, from MongoDB or, when it does not answer, the spool.
//! Loopback by default; any other address needs a token.
//!
//! [`CostQuery`]: panoptic::query::CostQuery

mod api;
mod assets;
mod budgets;
mod filters;
mod overview;
mod respond;
mod security;
mod source;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;

use crate::options::Global;

/// `panoptic serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on. Anything but loopback needs `--token`.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// Seconds between two refreshes of the open page.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub refresh: u64,
    /// Token every request must carry (`Authorization: Bearer …` or
    /// `?token=…`). Prefer `--token-file` or the environment variable: a
    /// command line is visible to other users of the machine.
    #[arg(long, env = "PANOPTIC_SERVE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// File holding the token (surrounding whitespace ignored).
    #[arg(long, conflicts_with = "token")]
    pub token_file: Option<PathBuf>,
    /// Only this environment (`prod`, `dev`, …): its database alone, whatever
    /// a page asks; default every environment. Unlike `report --env`, not
    /// read from PANOPTIC_ENV: the application's own environment would
    /// narrow the dashboard without a word.
    #[arg(long)]
    pub env: Option<String>,
    /// Also roll up (as `panoptic rollup` does, under the same lease) every
    /// this many seconds. Without it, serve only reads.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub rollup: Option<u64>,
}

/// Runs `panoptic serve`.
pub async fn run(global: &Global, args: &ServeArgs) -> Result<(), String> {
    let token = token(args)?;
    if token.is_none() && !args.bind.ip().is_loopback() {
        return Err(format!(
            "refusing to serve on {} without a token: anyone who can reach it would read your costs; \
             pass --token-file FILE (or --token), or bind to 127.0.0.1",
            args.bind
        ));
    }
    let source = source::Source::open(global, args.env.as_deref()).await;
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.bind))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    println!(
        "panoptic: serving http://{local}/ ({}; refresh every {} s{})",
        source.describe(),
        args.refresh,
        if token.is_some() {
            "; token required"
        } else {
            ""
        }
    );
    if let (Some(every), Some(client)) = (args.rollup, source.client()) {
        let (client, env) = (client.clone(), args.env.clone());
        tokio::spawn(async move {
            loop {
                // A failed pass leaves every window correct; the next retries.
                if let Err(error) =
                    crate::rollup::pass(&client, env.as_deref(), chrono::Utc::now(), false, false)
                        .await
                {
                    eprintln!("panoptic: rollup: {error}");
                }
                tokio::time::sleep(std::time::Duration::from_secs(every)).await;
            }
        });
    }
    let state = Arc::new(api::State {
        source,
        refresh_seconds: args.refresh,
    });
    let guard = security::Guard::new(token, local);
    let app = api::router(state).layer(axum::middleware::from_fn_with_state(
        Arc::new(guard),
        security::check,
    ));
    axum::serve(listener, app)
        .await
        .map_err(|e| format!("server stopped: {e}"))
}

/// The token from `--token`, `PANOPTIC_SERVE_TOKEN` or `--token-file`.
fn token(args: &ServeArgs) -> Result<Option<String>, String> {
    let token = match (&args.token, &args.token_file) {
        (Some(token), _) => Some(token.trim().to_owned()),
        (None, Some(path)) => Some(
            std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read the token file {}: {e}", path.display()))?
                .trim()
                .to_owned(),
        ),
        (None, None) => None,
    };
    match token {
        Some(token) if token.is_empty() => Err("the token is empty".to_owned()),
        other => Ok(other),
    }
}
