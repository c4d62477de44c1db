//! `panoptic prices` without a subcommand: one line per table, or every
//! figure, each flagged when stale.

use std::io::{self, Write};

use chrono::{NaiveDate, Utc};
use clap::Args;
use panoptic::Decimal;
use panoptic::prices::{Figure, PriceBook};

use super::tables::{TableRow, book_tables};
use super::{known_providers, unknown_provider};
use crate::render::{self, Format, csv, json, table::Table};

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
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
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

pub(super) fn run(args: &ListArgs) -> Result<(), String> {
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
    tables.push(super::tables::gcp_table()?);
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

fn summary(
    tables: &[TableRow],
    today: NaiveDate,
    stale: &dyn Fn(&Figure) -> bool,
    format: Format,
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
    format: Format,
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
    if matches!(format, Format::Csv) {
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
        writeln!(out, "{}", csv::line(&header.map(String::from)))?;
        for item in &items {
            let line: Vec<String> = header
                .iter()
                .map(|k| match &item[*k] {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Null => String::new(),
                    other => other.to_string(),
                })
                .collect();
            writeln!(out, "{}", csv::line(&line))?;
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
    format: Format,
    out: &mut impl Write,
) -> io::Result<()> {
    let header = render::header(header);
    match format {
        // Left-aligned: these columns mix text and numbers.
        Format::Table => Table::new(&header, cells).write(cells, true, out),
        Format::Csv => csv::write(&header, cells, out),
        Format::Json => json::write(items, out),
    }
}
