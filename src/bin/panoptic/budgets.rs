//! `panoptic budgets`: set, remove and list the budgets every process that
//! shares the database enforces, with spent, reserved, limit and forecast,
//! and beside them what `spent` leaves out: calls with no amount, spend in
//! a currency the budget has no rate for (and the rates it converted at).

use std::str::FromStr;

use clap::{Args, Subcommand, ValueEnum};
use panoptic::Decimal;
use panoptic::budget::{Budget, BudgetStatus, BudgetStore, FailurePolicy, Mode, Period};

use crate::options::{Global, connect};
use crate::render::{self, Format, csv, json, table::Table};

/// `panoptic budgets`.
#[derive(Debug, Args)]
pub struct BudgetsArgs {
    #[command(subcommand)]
    pub action: Option<Action>,
}

/// What to do with budgets (default: list).
// Parsed once per run: the size of `Set` does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Action {
    /// Every budget: mode, period, spent, the calls it leaves unpriced and
    /// the spend it does not count (no rate), reserved, limit, forecast,
    /// the day it runs out; then a note per budget on what it left out or
    /// converted.
    List {
        /// table, csv or json.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Creates or replaces a budget.
    Set(SetArgs),
    /// Removes a budget (its history stays).
    Rm {
        /// The budget's name.
        name: String,
    },
}

/// `panoptic budgets set`.
#[derive(Debug, Args)]
pub struct SetArgs {
    /// A unique name, used by `#[billable(budget = "…")]`.
    pub name: String,
    /// The limit, in the budget's currency (list prices).
    #[arg(long)]
    pub limit: String,
    /// day, week or month.
    #[arg(long, value_enum)]
    pub period: PeriodArg,
    /// IANA time zone of the period's boundaries.
    #[arg(long = "tz", default_value = "UTC")]
    pub time_zone: String,
    /// observe (record), warn (alert) or enforce (refuse calls that opt in).
    #[arg(long, value_enum, default_value_t = ModeArg::Warn)]
    pub mode: ModeArg,
    /// Only this provider's events.
    #[arg(long)]
    pub provider: Option<String>,
    /// Only this service's events.
    #[arg(long)]
    pub service: Option<String>,
    /// Only this resource's events.
    #[arg(long)]
    pub resource: Option<String>,
    /// Only this username's events.
    #[arg(long)]
    pub username: Option<String>,
    /// Only this end user's events (`metadata.user`: a customer).
    #[arg(long)]
    pub user: Option<String>,
    /// Only this env's events.
    #[arg(long)]
    pub env: Option<String>,
    /// Only events with this tag (repeatable).
    #[arg(long = "tag")]
    pub tags: Vec<String>,
    /// Alert thresholds in percent, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "50,80,100")]
    pub alerts: Vec<u32>,
    /// A URL that receives each alert as a JSON POST.
    #[arg(long)]
    pub webhook: Option<String>,
    /// Minutes a dead process's reservation holds money.
    #[arg(long, default_value_t = 15)]
    pub reservation_ttl_minutes: u64,
    /// When MongoDB does not answer a reservation.
    #[arg(long, value_enum, default_value_t = PolicyArg::FailOpen)]
    pub on_unavailable: PolicyArg,
    /// ISO 4217 currency.
    #[arg(long, default_value = "USD")]
    pub currency: String,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PeriodArg {
    Day,
    Week,
    Month,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ModeArg {
    Observe,
    Warn,
    Enforce,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PolicyArg {
    FailOpen,
    FailClosed,
}

/// Runs `panoptic budgets`.
pub async fn run(global: &Global, args: &BudgetsArgs) -> Result<(), String> {
    // Budgets live in MongoDB only: no spool to fall back on.
    let client = connect::ping(global).await?;
    let store = BudgetStore::new(&client);
    match &args.action {
        None => list(&store, Format::Table).await,
        Some(Action::List { format }) => list(&store, *format).await,
        Some(Action::Set(set)) => {
            let budget = budget_of(set)?;
            store.set(&budget).await?;
            eprintln!(
                "panoptic: budget `{}` set: {} {} per {} ({})",
                budget.name, budget.limit, budget.currency, budget.period, budget.mode
            );
            Ok(())
        }
        Some(Action::Rm { name }) => {
            if store.remove(name).await? {
                eprintln!("panoptic: budget `{name}` removed");
                Ok(())
            } else {
                Err(format!("no budget named `{name}`"))
            }
        }
    }
}

fn budget_of(set: &SetArgs) -> Result<Budget, String> {
    let limit = Decimal::from_str(set.limit.trim())
        .map_err(|_| format!("--limit `{}` is not an amount", set.limit))?;
    let period = match set.period {
        PeriodArg::Day => Period::Day,
        PeriodArg::Week => Period::Week,
        PeriodArg::Month => Period::Month,
    };
    let mut budget = Budget::new(set.name.clone(), period, limit)
        .time_zone(set.time_zone.clone())
        .mode(match set.mode {
            ModeArg::Observe => Mode::Observe,
            ModeArg::Warn => Mode::Warn,
            ModeArg::Enforce => Mode::Enforce,
        })
        .alerts(set.alerts.iter().copied())
        .reservation_ttl(std::time::Duration::from_secs(
            set.reservation_ttl_minutes.max(1) * 60,
        ))
        .on_unavailable(match set.on_unavailable {
            PolicyArg::FailOpen => FailurePolicy::FailOpen,
            PolicyArg::FailClosed => FailurePolicy::FailClosed,
        });
    budget.currency = set.currency.clone();
    budget.webhook = set.webhook.clone();
    let scope = &mut budget.scope;
    scope.provider = set.provider.clone();
    scope.service = set.service.clone();
    scope.resource = set.resource.clone();
    scope.username = set.username.clone();
    scope.user = set.user.clone();
    scope.env = set.env.clone();
    scope.tags = set.tags.clone();
    budget.validate().map_err(|e| e.0)?;
    Ok(budget)
}

async fn list(store: &BudgetStore, format: Format) -> Result<(), String> {
    let now = chrono::Utc::now();
    let mut statuses = Vec::new();
    for budget in store.list().await? {
        statuses.push(store.status(&budget, now).await?);
    }
    let header = render::header(&[
        "budget",
        "mode",
        "period",
        "spent",
        "unpriced",
        "not_counted",
        "reserved",
        "limit",
        "forecast",
        "runs_out",
        "scope",
    ]);
    let rows: Vec<Vec<String>> = statuses.iter().map(row).collect();
    let mut out = std::io::stdout().lock();
    let written = match format {
        Format::Json => {
            let items: Vec<serde_json::Value> = rows
                .iter()
                .zip(&statuses)
                .map(|(cells, status)| {
                    let mut item: serde_json::Map<_, _> = header
                        .iter()
                        .zip(cells)
                        .map(|(h, c)| (h.clone(), serde_json::Value::String(c.clone())))
                        .collect();
                    item.extend(coverage_json(status));
                    item.into()
                })
                .collect();
            json::write(&items, &mut out)
        }
        Format::Csv => csv::write(&header, &rows, &mut out),
        // Amounts (spent to forecast) right-aligned; the notes below.
        Format::Table => Table::new(&header, &rows)
            .right_aligned(3..9)
            .write(&rows, false, &mut out)
            .and_then(|()| write_notes(&statuses, &mut out)),
    };
    written.map_err(|e| e.to_string())?;
    if statuses.is_empty() {
        eprintln!(
            "panoptic: no budgets; add one with `panoptic budgets set NAME --limit 25 --period day`"
        );
    }
    Ok(())
}

/// What a budget's `spent` leaves out, for JSON: `uncounted` (amount by
/// currency, as text), `rates_applied`, `notes`.
fn coverage_json(status: &BudgetStatus) -> [(String, serde_json::Value); 3] {
    let coverage = &status.coverage;
    let uncounted: serde_json::Map<_, _> = coverage
        .uncounted
        .iter()
        .map(|(currency, amount)| (currency.to_owned(), amount.to_string().into()))
        .collect();
    [
        ("uncounted".to_owned(), uncounted.into()),
        (
            "rates_applied".to_owned(),
            coverage.rates_applied.clone().into(),
        ),
        ("notes".to_owned(), status.notes().into()),
    ]
}

/// `team-ai: 12.50 EUR not counted: no EUR→USD rate …`, one line per
/// note, after the table.
fn write_notes(statuses: &[BudgetStatus], out: &mut impl std::io::Write) -> std::io::Result<()> {
    let notes: Vec<String> = statuses
        .iter()
        .flat_map(|s| {
            s.notes()
                .into_iter()
                .map(|note| format!("{}: {note}", s.budget.name))
        })
        .collect();
    if !notes.is_empty() {
        writeln!(out)?;
        for note in notes {
            writeln!(out, "{note}")?;
        }
    }
    Ok(())
}

fn row(status: &BudgetStatus) -> Vec<String> {
    let b = &status.budget;
    vec![
        b.name.clone(),
        b.mode.to_string(),
        format!("{} ({})", status.period.name, b.time_zone),
        status.spent.normalize().to_string(),
        status.coverage.unpriced_calls.to_string(),
        if status.coverage.uncounted.is_empty() {
            "-".to_owned()
        } else {
            status.coverage.uncounted.to_string()
        },
        status.reserved.normalize().to_string(),
        format!("{} {}", b.limit.normalize(), b.currency),
        status
            .forecast
            .end_of_period
            .round_dp(2)
            .normalize()
            .to_string(),
        status
            .forecast
            .runs_out
            .map_or_else(|| "-".to_owned(), |d| d.to_string()),
        if b.scope.is_everything() {
            "all".to_owned()
        } else {
            b.scope.to_string()
        },
    ]
}
