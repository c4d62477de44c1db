//! `panoptic rollup`: recompute the rollups reports read (closed windows
//! marked dirty, or every window with `--rebuild`), under each database's
//! lease; `--every` keeps doing it.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use panoptic::naming::{DATABASE_PREFIX, database_name};
use panoptic::rollup::{Progress, roll_up};

use crate::options::{Global, connect};

/// What to roll up.
#[derive(Debug, Args)]
pub struct RollupArgs {
    /// Only this environment's database (default: every panoptic-* one).
    #[arg(long)]
    pub env: Option<String>,
    /// Recompute every window, not only the dirty ones: after events were
    /// written by a binary older than rollups, or deleted by hand.
    #[arg(long)]
    pub rebuild: bool,
    /// Run again every this many seconds, until stopped.
    #[arg(long, value_name = "SECONDS")]
    pub every: Option<u64>,
    /// Roll up as if the clock read this (RFC 3339): for tests, which
    /// cannot wait an hour for a window to close.
    #[arg(long, hide = true, value_parser = parse_now)]
    pub now: Option<DateTime<Utc>>,
}

fn parse_now(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("`{text}` is not an RFC 3339 time: {e}"))
}

/// Runs `panoptic rollup`.
pub async fn run(global: &Global, args: &RollupArgs) -> Result<(), String> {
    let client = connect::ping(global).await?;
    let mut rebuild = args.rebuild;
    loop {
        let now = args.now.unwrap_or_else(Utc::now);
        pass(&client, args.env.as_deref(), now, rebuild, true).await?;
        let Some(every) = args.every else {
            return Ok(());
        };
        rebuild = false;
        tokio::time::sleep(Duration::from_secs(every.max(1))).await;
    }
}

/// One pass over the databases; what each did on stderr when `loud`.
pub async fn pass(
    client: &mongodb::Client,
    env: Option<&str>,
    now: DateTime<Utc>,
    rebuild: bool,
    loud: bool,
) -> Result<(), String> {
    let databases = match env {
        Some(env) => vec![database_name(env)],
        None => client
            .list_database_names()
            .await
            .map_err(|e| connect::describe(&e))?
            .into_iter()
            .filter(|name| name.starts_with(DATABASE_PREFIX))
            .collect(),
    };
    for database in databases {
        let bar = if loud {
            ProgressBar::new(0)
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template("{prefix} {msg:>16} {wide_bar} {pos}/{len}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_prefix(database.clone());
        let stages = StageClock::default();
        let show = |p: Progress| {
            stages.at(p.stage);
            bar.set_message(p.stage);
            bar.set_length(p.total);
            bar.set_position(p.done);
        };
        let report = roll_up(client, &database, now, rebuild, &show)
            .await
            .map_err(|e| format!("{database}: {e}"))?;
        bar.finish_and_clear();
        if !loud {
            continue;
        }
        match report.held_by {
            Some(held) => eprintln!(
                "panoptic: {database}: another worker holds the rollup lease ({} until {}); skipped",
                held.holder,
                held.until.format("%H:%M:%SZ")
            ),
            None => eprintln!(
                "panoptic: {database}: {} collection hour(s), {} hour(s), {} day(s) rolled up; {} left dirty{}",
                report.collection_hours,
                report.hours,
                report.days,
                report.left_dirty,
                stages.summary()
            ),
        }
    }
    Ok(())
}

/// How long each stage of a pass took: where a slow rebuild spends it.
#[derive(Default)]
struct StageClock(Mutex<Vec<(&'static str, Instant)>>);

impl StageClock {
    fn at(&self, stage: &'static str) {
        let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if seen.last().is_none_or(|(last, _)| *last != stage) {
            seen.push((stage, Instant::now()));
        }
    }

    /// ` (collections 1.2 s, collection hours 3.4 s, …)`, or nothing.
    fn summary(&self) -> String {
        let seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let ends = seen
            .iter()
            .skip(1)
            .map(|(_, at)| *at)
            .chain([Instant::now()]);
        let parts: Vec<String> = seen
            .iter()
            .zip(ends)
            .map(|((stage, start), end)| format!("{stage} {:.1} s", (end - *start).as_secs_f64()))
            .collect();
        if parts.is_empty() {
            String::new()
        } else {
            format!(" ({})", parts.join(", "))
        }
    }
}
