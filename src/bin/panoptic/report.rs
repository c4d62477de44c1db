//! `panoptic report`: cost per group and currency over a time range, from
//! MongoDB when it answers, else from the spool (saying so). Two
//! currencies are two rows and two totals unless `--currency` converts
//! them through the user's dated rates.

mod conversion;
mod figures;
mod forecast;
mod free_tier;
mod open_calls;
mod page;
mod rows;
mod workbook;

use std::io;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use panoptic::Spool;
use panoptic::config::redact_uri;
use panoptic::query::{CostQuery, CostRow, GroupBy};

use crate::options::{Filters, Global, connect};
use crate::render::Format;
use conversion::Conversion;

/// `panoptic report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub filters: Filters,
    /// Group by any of provider, service, resource, user, env, day, hour.
    #[arg(long, value_delimiter = ',', default_value = "service", value_parser = parse_group)]
    pub by: Vec<GroupBy>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Also write a self-contained HTML page (cost per day per service,
    /// top resources) to this file.
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// Also write the report as an Excel workbook to this file: money as
    /// numbers in each currency's format, days as dates, the totals and
    /// unpriced counts under the rows.
    #[arg(long)]
    pub xlsx: Option<PathBuf>,
    /// Add each row's projected spend at the end of the current period
    /// (`month` when given bare; UTC), as of `--until` (default now): the
    /// spend so far plus, for each day left, the mean daily spend of the
    /// period's complete days. The period's own days are read, whatever
    /// `--since` says.
    #[arg(long, value_enum, num_args = 0..=1, default_missing_value = "month")]
    pub forecast: Option<ForecastPeriod>,
    /// Convert every amount into this currency (ISO 4217, as `USD`) with
    /// the rates of `--rates`, each in effect on the range's last day
    /// (UTC: the day before `--until`, else today), shown beside the
    /// figures. Without it, each currency has its own rows and total.
    #[arg(long, value_parser = parse_currency)]
    pub currency: Option<String>,
    /// The rate file `--currency` converts with (TOML `[[rate]]` entries:
    /// from, to, rate, date).
    #[arg(long, env = panoptic::prices::rates::RATES_ENV)]
    pub rates: Option<PathBuf>,
    /// Read every event and every collection's start records, not the
    /// rollups (nor the spool's segment summaries): the same figures and
    /// open calls, slower; a check that they are right.
    #[arg(long)]
    pub scan: bool,
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

fn parse_group(text: &str) -> Result<GroupBy, String> {
    GroupBy::parse(text).ok_or_else(|| {
        let names: Vec<_> = GroupBy::ALL.iter().map(|g| g.as_str()).collect();
        format!("unknown grouping `{text}`; use {}", names.join(", "))
    })
}

fn parse_currency(text: &str) -> Result<String, String> {
    panoptic::prices::rates::currency_code(text)
}

/// Where the report reads: MongoDB, or the spool when it did not answer.
struct Store<'a> {
    client: Option<mongodb::Client>,
    spool_dir: &'a Path,
    /// Every event, never the rollups (nor the spool's summaries).
    scan: bool,
}

impl Store<'_> {
    /// The cost rows of `query`.
    async fn rows(&self, query: CostQuery) -> Result<Vec<CostRow>, String> {
        match &self.client {
            Some(client) if self.scan => query.run_scan(client).await.map_err(|e| e.to_string()),
            Some(client) => query.run(client).await.map_err(|e| e.to_string()),
            None if self.scan => query
                .run_on_spool_scan(&Spool::open(self.spool_dir))
                .map_err(|e| format!("cannot read the spool: {e}")),
            None => query
                .run_on_spool(&Spool::open(self.spool_dir))
                .map_err(|e| format!("cannot read the spool: {e}")),
        }
    }
}

/// Runs `panoptic report`.
pub async fn run(global: &Global, args: &ReportArgs) -> Result<(), String> {
    // A bad rate file fails before anything is read.
    let conversion = Conversion::of(args)?;
    let filtered = args.filters.query();
    let store = Store {
        client: connect::or_spool(global).await,
        spool_dir: &global.spool_dir,
        scan: args.scan,
    };
    let source = match &store.client {
        Some(_) => format!("MongoDB {}", redact_uri(&global.mongodb_uri)),
        None => format!("spool {}", global.spool_dir.display()),
    };
    eprintln!("panoptic: source {source}");
    // Open calls are found beside the rows, not after them: on many
    // collections both are mostly waiting for the server.
    let grouped = filtered.clone().group_by(args.by.iter().copied());
    let (rows, open) = tokio::join!(
        store.rows(grouped.clone()),
        open_calls::find(&store, &filtered)
    );
    let (rows, open) = (rows?, open?);
    let free = free_tier::Net::load(&store, &args.filters, &grouped).await?;
    let rows = free.apply(&grouped, rows);
    let rows = conversion::rows(conversion.as_ref(), rows)?;
    let forecasts = match args.forecast {
        Some(period) => {
            Some(forecast::per_row(&store, args, period, conversion.as_ref(), &rows).await?)
        }
        None => None,
    };
    // Everything that can fail is done before the first line is written:
    // a report is whole or not written.
    let html = match &args.html {
        Some(path) => {
            let day_query = filtered.clone().group_by([GroupBy::Day, GroupBy::Service]);
            let by_day = free.apply(&day_query, store.rows(day_query.clone()).await?);
            let resource_query = filtered
                .clone()
                .group_by([GroupBy::Resource, GroupBy::Service]);
            let by_resource =
                free.apply(&resource_query, store.rows(resource_query.clone()).await?);
            let title = format!("panoptic cost report ({source})");
            let page = page::Page {
                title: &title,
                by_day_service: &conversion::rows(conversion.as_ref(), by_day)?,
                by_resource: &conversion::rows(conversion.as_ref(), by_resource)?,
                conversion: conversion.as_ref(),
            };
            Some((path, page.html()))
        }
        None => None,
    };
    let report = rows::Report {
        rows: &rows,
        by: &args.by,
        conversion: conversion.as_ref(),
        forecast: forecasts.as_ref(),
    };
    report
        .write(args.format, &mut io::stdout().lock())
        .map_err(|e| e.to_string())?;
    open_calls::list(&open);
    if let Some(path) = &args.xlsx {
        workbook::write(&report, path)?;
    }
    if let Some((path, html)) = html {
        std::fs::write(path, html).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        eprintln!("panoptic: wrote {}", path.display());
    }
    Ok(())
}
