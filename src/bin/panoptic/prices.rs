//! `panoptic prices`: the price book, every table with its age and every
//! figure flagged when stale; `prices update` compares a provider's
//! published prices with it and writes an override file on request.

mod update;

use std::collections::BTreeMap;
use std::io::{self, Write};

use chrono::{NaiveDate, Utc};
use clap::{Args, Subcommand};
use panoptic::Decimal;
use panoptic::prices::{Figure, PriceBook};

use crate::args::{Global, ReportFormat};
use crate::output::csv_line;

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
    pub list: ListArgs,
}

/// What `panoptic prices` can do besides listing.
#[derive(Debug, Subcommand)]
pub enum PricesCommand {
    /// Compare a provider's published prices (AWS Price List offer files,
    /// the Google Cloud Billing Catalog) with the table; nothing is
    /// written without --write.
    Update(update::UpdateArgs),
}

/// Listing options.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this provider's table: openai, aws, mongodb_atlas, gcp.
    #[arg(long)]
    pub provider: Option<String>,
    /// List every figure (entry, component, region, price, source, dates)
    /// instead of one line per table.
    #[arg(long)]
    pub figures: bool,
    /// A figure checked longer ago than this is stale: `180d`, `26w`, or
    /// a number of days.
    #[arg(long, default_value = "180d", value_parser = parse_days)]
    pub stale_after: i64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
}

pub async fn run(global: &Global, args: &PricesArgs) -> Result<(), String> {
    match &args.command {
        Some(PricesCommand::Update(update)) => update::run(global, update).await,
        None => list(&args.list),
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

/// `180d`, `26w`, `180` → days.
fn parse_days(text: &str) -> Result<i64, String> {
    let t = text.trim();
    let (number, factor) = if let Some(n) = t.strip_suffix('d') {
        (n, 1)
    } else if let Some(n) = t.strip_suffix('w') {
        (n, 7)
    } else {
        (t, 1)
    };
    number
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .and_then(|n| n.checked_mul(factor))
        .ok_or_else(|| format!("cannot read `{text}` as an age: use 180d, 26w or 180"))
}

/// One listed figure, with what the book's columns cannot say (tiers,
/// free usage, an explicit variant).
struct Row {
    figure: Figure,
    note: String,
}

/// One provider's table as listed.
struct TableRow {
    provider: String,
    file: String,
    rows: Vec<Row>,
}

fn list(args: &ListArgs) -> Result<(), String> {
    let known = known_providers();
    if let Some(p) = &args.provider
        && !known.contains(&p.as_str())
    {
        return Err(unknown_provider(p, &known));
    }
    let book = PriceBook::with_overrides_from_env()
        .map_err(|e| format!("{}: {e}", panoptic::prices::OVERRIDES_ENV))?;
    let mut tables = book_tables(&book);
    #[cfg(feature = "gcp")]
    tables.push(gcp_table()?);
    tables.retain(|t| args.provider.as_deref().is_none_or(|p| p == t.provider));

    let today = Utc::now().date_naive();
    let stale = |f: &Figure| f.age_days(today) > args.stale_after;
    let mut out = io::stdout().lock();
    let written = if args.figures {
        figures(&tables, today, &stale, args.format, &mut out)
    } else {
        summary(&tables, today, &stale, args.format, &mut out)
    };
    match written {
        // `panoptic prices --figures | head` is not a failure.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(()),
        other => other.map_err(|e| format!("cannot write: {e}"))?,
    }
    let count = tables
        .iter()
        .flat_map(|t| &t.rows)
        .filter(|r| stale(&r.figure))
        .count();
    // On stderr so that CSV and JSON on stdout stay clean.
    eprintln!(
        "{count} figure{} older than {} days{}",
        if count == 1 { "" } else { "s" },
        args.stale_after,
        if count > 0 && !args.figures {
            " (see them with --figures)"
        } else {
            ""
        }
    );
    Ok(())
}

pub(crate) fn unknown_provider(name: &str, known: &[&str]) -> String {
    format!("unknown provider `{name}`: use one of {}", known.join(", "))
}

fn book_tables(book: &PriceBook) -> Vec<TableRow> {
    let mut by_provider: BTreeMap<String, Vec<Row>> = BTreeMap::new();
    for figure in book.figures() {
        let note = figure
            .variant
            .as_ref()
            .map(|v| format!("variant {v}"))
            .unwrap_or_default();
        by_provider
            .entry(figure.provider.clone())
            .or_default()
            .push(Row { figure, note });
    }
    let order = |p: &str| known_providers().iter().position(|k| *k == p);
    let mut tables: Vec<TableRow> = book
        .tables()
        .into_iter()
        .map(|t| TableRow {
            rows: by_provider.remove(&t.provider).unwrap_or_default(),
            provider: t.provider,
            file: t.file,
        })
        .collect();
    tables.sort_by_key(|t| (order(&t.provider).unwrap_or(usize::MAX), t.provider.clone()));
    tables
}

/// Google Cloud's table as figures: one per service, SKU, price list and
/// region (the book's granularity), priced at the first tier.
#[cfg(feature = "gcp")]
fn gcp_table() -> Result<TableRow, String> {
    use panoptic::gcp::pricing::PriceTable;

    let table = PriceTable::from_env().map_err(|e| format!("PANOPTIC_GCP_PRICES: {e}"))?;
    let mut file = "prices.toml (panoptic-gcp)".to_owned();
    if let Ok(path) = std::env::var("PANOPTIC_GCP_PRICES")
        && !path.trim().is_empty()
    {
        file = format!("{file} + {}", path.trim());
    }
    let mut rows = Vec::new();
    for (service_key, service) in &table.services {
        for (sku_key, sku) in &service.skus {
            for price in &sku.prices {
                let Some(first) = price.tiers.first() else {
                    continue;
                };
                let mut notes = Vec::new();
                if !price.free_per_month.is_zero() {
                    notes.push(format!(
                        "free {} {}/month",
                        price.free_per_month.normalize(),
                        sku.unit
                    ));
                }
                if price.tiers.len() > 1 {
                    notes.push(format!("{} tiers", price.tiers.len()));
                }
                for region in &price.regions {
                    rows.push(Row {
                        figure: Figure {
                            provider: "gcp".to_owned(),
                            entry: service_key.clone(),
                            component: sku_key.clone(),
                            region: Some(region.clone()),
                            variant: None,
                            unit_price: first.rate,
                            per: first.per,
                            unit: sku.unit.clone(),
                            currency: table.currency.clone(),
                            source: price.source.clone(),
                            checked: price.checked,
                            effective: price.effective,
                            usagetype: None,
                            sku: price
                                .catalog_sku_id
                                .clone()
                                .or_else(|| sku.catalog_sku_id.clone()),
                        },
                        note: notes.join("; "),
                    });
                }
            }
        }
    }
    Ok(TableRow {
        provider: "gcp".to_owned(),
        file,
        rows,
    })
}

fn summary(
    tables: &[TableRow],
    today: NaiveDate,
    stale: &dyn Fn(&Figure) -> bool,
    format: ReportFormat,
    out: &mut impl Write,
) -> io::Result<()> {
    let header = [
        "provider", "figures", "stale", "checked", "age_days", "file",
    ];
    let mut cells = Vec::new();
    let mut items = Vec::new();
    for t in tables {
        let oldest = t.rows.iter().map(|r| r.figure.checked).min();
        let newest = t.rows.iter().map(|r| r.figure.checked).max();
        let stale_count = t.rows.iter().filter(|r| stale(&r.figure)).count();
        let age = oldest.map(|d| (today - d).num_days());
        let checked = match (oldest, newest) {
            (Some(a), Some(b)) if a != b => format!("{a}..{b}"),
            (Some(a), _) => a.to_string(),
            _ => String::new(),
        };
        cells.push(vec![
            t.provider.clone(),
            t.rows.len().to_string(),
            stale_count.to_string(),
            checked,
            age.map(|a| a.to_string()).unwrap_or_default(),
            t.file.clone(),
        ]);
        items.push(serde_json::json!({
            "provider": t.provider,
            "figures": t.rows.len(),
            "stale": stale_count,
            "oldest_checked": oldest.map(|d| d.to_string()),
            "newest_checked": newest.map(|d| d.to_string()),
            "age_days": age,
            "file": t.file,
        }));
    }
    write_rows(&header, &cells, &items, format, out)
}

fn figures(
    tables: &[TableRow],
    today: NaiveDate,
    stale: &dyn Fn(&Figure) -> bool,
    format: ReportFormat,
    out: &mut impl Write,
) -> io::Result<()> {
    let header = [
        "provider",
        "entry",
        "component",
        "region",
        "price",
        "checked",
        "age_days",
        "stale",
        "effective",
        "source",
        "note",
    ];
    let mut cells = Vec::new();
    let mut items = Vec::new();
    for row in tables.iter().flat_map(|t| &t.rows) {
        let f = &row.figure;
        let is_stale = stale(f);
        let region = f.region.clone().unwrap_or_else(|| "*".to_owned());
        cells.push(vec![
            f.provider.clone(),
            f.entry.clone(),
            f.component.clone(),
            region.clone(),
            price_text(f),
            f.checked.to_string(),
            f.age_days(today).to_string(),
            if is_stale { "stale" } else { "" }.to_owned(),
            f.effective.to_string(),
            f.source.clone(),
            row.note.clone(),
        ]);
        // Money as text: JSON numbers are floats to most readers.
        items.push(serde_json::json!({
            "provider": f.provider,
            "entry": f.entry,
            "component": f.component,
            "region": f.region,
            "variant": f.variant,
            "price": f.unit_price.normalize().to_string(),
            "per": f.per.normalize().to_string(),
            "unit": f.unit,
            "currency": f.currency,
            "checked": f.checked.to_string(),
            "age_days": f.age_days(today),
            "stale": is_stale,
            "effective": f.effective.to_string(),
            "source": f.source,
            "note": row.note,
        }));
    }
    if matches!(format, ReportFormat::Csv) {
        // Machine-readable columns instead of the combined price text.
        let header = [
            "provider",
            "entry",
            "component",
            "region",
            "price",
            "per",
            "unit",
            "currency",
            "checked",
            "age_days",
            "stale",
            "effective",
            "source",
            "note",
        ];
        writeln!(out, "{}", csv_line(&header.map(String::from)))?;
        for item in &items {
            let line: Vec<String> = header
                .iter()
                .map(|k| match &item[*k] {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Null => String::new(),
                    other => other.to_string(),
                })
                .collect();
            writeln!(out, "{}", csv_line(&line))?;
        }
        return Ok(());
    }
    write_rows(&header, &cells, &items, format, out)
}

/// `0.15 USD / 1000000 tokens`.
fn price_text(f: &Figure) -> String {
    let per = f.per.normalize();
    let per = if per == Decimal::ONE {
        String::new()
    } else {
        format!("{per} ")
    };
    format!(
        "{} {} / {per}{}",
        f.unit_price.normalize(),
        f.currency,
        f.unit
    )
}

fn write_rows(
    header: &[&str],
    cells: &[Vec<String>],
    items: &[serde_json::Value],
    format: ReportFormat,
    out: &mut impl Write,
) -> io::Result<()> {
    match format {
        ReportFormat::Table => table(header, cells, out),
        ReportFormat::Csv => {
            writeln!(out, "{}", csv_line(&owned(header)))?;
            for row in cells {
                writeln!(out, "{}", csv_line(row))?;
            }
            Ok(())
        }
        ReportFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, items).map_err(io::Error::other)?;
            writeln!(out)
        }
    }
}

fn owned(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|s| (*s).to_owned()).collect()
}

/// Aligned columns, left-aligned (the report's table right-aligns its
/// numeric columns by position, which does not fit these).
pub(crate) fn table(header: &[&str], rows: &[Vec<String>], out: &mut impl Write) -> io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| -> String {
        cells
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    writeln!(out, "{}", line(&mut header.iter().copied()))?;
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    writeln!(out, "{}", rule.join("  "))?;
    for row in rows {
        writeln!(out, "{}", line(&mut row.iter().map(String::as_str)))?;
    }
    Ok(())
}
