//! Command-line arguments.

use std::path::PathBuf;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};
use panoptic::query::GroupBy;

/// What your code cost: reports, exports and spool delivery for panoptic.
#[derive(Debug, Parser)]
#[command(name = "panoptic", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Where the events are.
#[derive(Debug, Args)]
pub struct Global {
    /// MongoDB connection string.
    #[arg(long, env = "MONGODB_URI", default_value = panoptic::config::DEFAULT_MONGODB_URI, global = true)]
    pub mongodb_uri: String,
    /// The spool folder (events waiting for MongoDB, or the only store
    /// when there is none).
    #[arg(long, env = "PANOPTIC_SPOOL_DIR", default_value = panoptic::DEFAULT_SPOOL_DIR, global = true)]
    pub spool_dir: PathBuf,
    /// Read the spool only, even if MongoDB answers.
    #[arg(long, global = true)]
    pub spool: bool,
    /// Seconds to wait for MongoDB before falling back to the spool.
    #[arg(long, default_value_t = 2, global = true)]
    pub timeout: u64,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Cost per group over a time range.
    Report(Report),
    /// Raw events of a time range, streamed as CSV or JSON lines.
    Export(Export),
    /// Deliver the spool to MongoDB now.
    Replay(Replay),
    /// What waits in the spool, what was set aside, and the dead letters.
    Stats,
    /// Check (and create) the indexes of every panoptic-* database.
    Indexes,
    /// The price book: every table with its age; `update` refreshes it.
    Prices(crate::prices::PricesArgs),
    /// panoptic's estimates beside the provider's bill.
    Reconcile(crate::reconcile::ReconcileArgs),
    /// Budgets: set, remove, list.
    Budgets(crate::budgets::BudgetsArgs),
    /// A live cost dashboard in the browser.
    Serve(crate::serve::ServeArgs),
}

/// Filters shared by report and export.
#[derive(Debug, Args)]
pub struct Filters {
    /// Start of the range: `7d`, `12h`, `30m`, a date (`2026-11-01`) or RFC 3339.
    #[arg(long, default_value = "7d", value_parser = parse_time)]
    pub since: DateTime<Utc>,
    /// End of the range (exclusive), same forms; default now.
    #[arg(long, value_parser = parse_time)]
    pub until: Option<DateTime<Utc>>,
    /// Environment (`prod`, `dev`, `staging`, …); default every environment.
    #[arg(long, env = "PANOPTIC_ENV")]
    pub env: Option<String>,
    /// Provider (`gcp`, `aws`, `openai`, `mongodb_atlas`, `user_defined`).
    #[arg(long)]
    pub provider: Option<String>,
    /// Username, as given to panoptic.
    #[arg(long)]
    pub user: Option<String>,
    /// Service (`BigQuery`, …).
    #[arg(long)]
    pub service: Option<String>,
    /// Resource (function identifier or label).
    #[arg(long)]
    pub resource: Option<String>,
}

/// `panoptic report`.
#[derive(Debug, Args)]
pub struct Report {
    #[command(flatten)]
    pub filters: Filters,
    /// Group by any of provider, service, resource, user, env, day, hour.
    #[arg(long, value_delimiter = ',', default_value = "service", value_parser = parse_group)]
    pub by: Vec<GroupBy>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
    /// Also write a self-contained HTML page (cost per day per service,
    /// top resources) to this file.
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// Add each row's projected spend at the end of the current period
    /// (`month` when given bare; UTC), as of `--until` (default now): the
    /// spend so far plus, for each day left, the mean daily spend of the
    /// period's complete days. The period's own days are read, whatever
    /// `--since` says.
    #[arg(long, value_enum, num_args = 0..=1, default_missing_value = "month")]
    pub forecast: Option<ForecastPeriod>,
}

/// The period `report --forecast` projects to the end of.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ForecastPeriod {
    /// Today (UTC).
    Day,
    /// This ISO week, Monday to Sunday (UTC).
    Week,
    /// This calendar month (UTC).
    Month,
}

impl From<ForecastPeriod> for panoptic::budget::Period {
    fn from(period: ForecastPeriod) -> Self {
        match period {
            ForecastPeriod::Day => panoptic::budget::Period::Day,
            ForecastPeriod::Week => panoptic::budget::Period::Week,
            ForecastPeriod::Month => panoptic::budget::Period::Month,
        }
    }
}

/// Report formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ReportFormat {
    /// Aligned columns for people.
    Table,
    /// Comma-separated, with a header.
    Csv,
    /// One JSON array.
    Json,
}

/// `panoptic export`.
#[derive(Debug, Args)]
pub struct Export {
    #[command(flatten)]
    pub filters: Filters,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
    pub format: ExportFormat,
    /// Write to this file instead of stdout.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

/// Export formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    /// One JSON document per line (MongoDB extended JSON, relaxed).
    Jsonl,
    /// Comma-separated, one row per event.
    Csv,
}

/// `panoptic replay`.
#[derive(Debug, Args)]
pub struct Replay {
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 300)]
    pub deadline: u64,
    /// First put back the segments set aside (unreadable bytes, a
    /// collection MongoDB refused) to try them again.
    #[arg(long)]
    pub retry_set_aside: bool,
}

fn parse_group(text: &str) -> Result<GroupBy, String> {
    GroupBy::parse(text).ok_or_else(|| {
        let names: Vec<_> = GroupBy::ALL.iter().map(|g| g.as_str()).collect();
        format!("unknown grouping `{text}`; use {}", names.join(", "))
    })
}

/// `7d`, `12h`, `30m` (ago), a date, or an RFC 3339 time.
pub fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if let Some((number, unit)) = text
        .find(|c: char| !c.is_ascii_digit())
        .map(|i| text.split_at(i))
        .filter(|(n, _)| !n.is_empty())
    {
        let n: i64 = number
            .parse()
            .map_err(|_| format!("bad number in `{text}`"))?;
        let span = match unit {
            "d" => Some(Duration::days(n)),
            "h" => Some(Duration::hours(n)),
            "m" => Some(Duration::minutes(n)),
            "w" => Some(Duration::weeks(n)),
            _ => None,
        };
        if let Some(span) = span {
            return Ok(Utc::now() - span);
        }
    }
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&Utc));
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(date.and_hms_opt(0, 0, 0).expect("midnight").and_utc());
    }
    Err(format!(
        "cannot read `{text}` as a time: use 7d, 12h, 30m, 2w, 2026-11-01 or 2026-11-01T08:00:00Z"
    ))
}
