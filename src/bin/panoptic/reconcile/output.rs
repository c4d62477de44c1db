//! The reconciliation's rows in each format, and its HTML page.

use std::io::{self, Write};

use panoptic::Decimal;
use panoptic::reconcile::{ReconRow, Report};
use serde_json::{Map, Value, json};

use crate::render::{self, Format, csv, html, json, table::Table};

/// The columns after the grouping ones.
const COLUMNS: [&str; 10] = [
    "currency",
    "estimate",
    "adjusted",
    "list",
    "credits",
    "net",
    "difference",
    "ratio",
    "flag",
    "reasons",
];

/// A row's cells and its SKU or line-item detail.
type Cells = (Vec<String>, Vec<(String, Decimal)>);

/// The header, and every row then the total as cells.
fn cells(report: &Report) -> (Vec<String>, Vec<Cells>) {
    let mut header: Vec<String> = report.by.iter().map(|g| g.as_str().to_owned()).collect();
    header.extend(render::header(&COLUMNS));
    let rows = report
        .rows
        .iter()
        .chain([&report.total])
        .map(|row| {
            let mut cells = row.key.clone();
            cells.resize(report.by.len(), String::new());
            cells.extend([
                row.currency.clone(),
                row.estimate.normalize().to_string(),
                row.adjusted.normalize().to_string(),
                row.list.normalize().to_string(),
                row.credits.normalize().to_string(),
                row.net.normalize().to_string(),
                row.difference.normalize().to_string(),
                row.ratio
                    .map(|r| r.normalize().to_string())
                    .unwrap_or_default(),
                if row.flagged { "!" } else { "" }.to_owned(),
                row.reasons
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            ]);
            let details = row.details.iter().map(|(k, v)| (k.clone(), *v)).collect();
            (cells, details)
        })
        .collect();
    (header, rows)
}

/// Writes the report; `details` lists each row's SKUs or line items
/// under it in the table.
pub(super) fn write(
    report: &Report,
    format: Format,
    details: bool,
    out: &mut impl Write,
) -> io::Result<()> {
    let (header, rows) = cells(report);
    match format {
        Format::Csv => {
            let cells: Vec<Vec<String>> = rows.into_iter().map(|(cells, _)| cells).collect();
            csv::write(&header, &cells, out)
        }
        Format::Json => {
            let items: Vec<Value> = report
                .rows
                .iter()
                .chain([&report.total])
                .map(|row| object(report, row))
                .collect();
            json::write(&items, out)
        }
        Format::Table => {
            let cells: Vec<Vec<String>> = rows.iter().map(|(cells, _)| cells.clone()).collect();
            // Amounts right-aligned; the reasons (last) are text.
            let table =
                Table::new(&header, &cells).right_aligned(report.by.len()..header.len() - 1);
            writeln!(out, "{}", table.header_line())?;
            for (cells, detail) in &rows {
                writeln!(out, "{}", table.line(cells))?;
                if details {
                    for (name, amount) in detail {
                        writeln!(out, "    {name}: {}", amount.normalize())?;
                    }
                }
            }
            Ok(())
        }
    }
}

/// One row as a JSON object; money as strings (JSON numbers are floats to
/// most readers).
fn object(report: &Report, row: &ReconRow) -> Value {
    let mut object = Map::new();
    for (dimension, value) in report.by.iter().zip(&row.key) {
        object.insert(dimension.as_str().into(), value.clone().into());
    }
    let money = |d: Decimal| Value::from(d.normalize().to_string());
    object.insert("currency".into(), row.currency.clone().into());
    object.insert("estimate".into(), money(row.estimate));
    object.insert("adjusted".into(), money(row.adjusted));
    object.insert("list".into(), money(row.list));
    object.insert("credits".into(), money(row.credits));
    object.insert("net".into(), money(row.net));
    object.insert("difference".into(), money(row.difference));
    object.insert("ratio".into(), row.ratio.map_or(Value::Null, money));
    object.insert("calls".into(), row.calls.into());
    object.insert("unpriced".into(), row.unpriced.into());
    object.insert("flagged".into(), row.flagged.into());
    let reasons: Vec<Value> = row
        .reasons
        .iter()
        .map(|r| json!({"code": r.code(), "text": r.to_string()}))
        .collect();
    object.insert("reasons".into(), reasons.into());
    let details: Map<String, Value> = row
        .details
        .iter()
        .map(|(k, v)| (k.clone(), money(*v)))
        .collect();
    object.insert("details".into(), details.into());
    object.into()
}

/// `--html FILE`: the rows as one table, flagged rows marked.
pub(super) fn page(report: &Report) -> String {
    let (header, rows) = cells(report);
    let cells: Vec<Vec<String>> = rows.into_iter().map(|(cells, _)| cells).collect();
    let flag = header.len() - 2;
    let table = html::Table {
        id: Some("reconciliation"),
        header: &header,
        numeric: report.by.len()..flag,
    };
    let body = format!(
        "<h1>panoptic reconcile: {} ({} basis)</h1>\n{}",
        html::escape(&report.provider),
        report.basis.as_str(),
        table.to_html(&cells, |row| {
            row.get(flag).is_some_and(|f| f == "!").then_some("flag")
        })
    );
    html::document(
        &format!("panoptic reconcile {}", report.provider),
        "td { padding: 2px 8px; }\ntd.n { text-align: right; }\ntr.flag { background: #fdd; }\n",
        &body,
    )
}
