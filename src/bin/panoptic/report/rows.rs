//! The report's rows in each format: a table for people, CSV and JSON for
//! scripts.

use std::io::{self, Write};

use panoptic::Decimal;
use panoptic::query::{CostRow, GroupBy};
use serde_json::{Map, Value};

use crate::render::{self, Format, csv, json, table::Table};

/// The columns after the grouping ones (a `forecast` column goes after
/// `amount`).
const COLUMNS: [&str; 8] = [
    "amount", "adjusted", "unpriced", "quantity", "count", "errors", "p50_ms", "p95_ms",
];

/// Writes `rows` grouped `by`; `forecast` holds each row's end-of-period
/// projection (`--forecast`).
pub(super) fn write(
    rows: &[CostRow],
    by: &[GroupBy],
    forecast: Option<&[Decimal]>,
    format: Format,
    out: &mut impl Write,
) -> io::Result<()> {
    let projection = |i: usize| {
        forecast
            .and_then(|f| f.get(i))
            .map(|f| f.round_dp(6).normalize().to_string())
    };
    if let Format::Json = format {
        let items: Vec<Value> = rows
            .iter()
            .enumerate()
            .map(|(i, row)| object(row, by, projection(i)))
            .collect();
        return json::write(&items, out);
    }
    let mut header: Vec<String> = by.iter().map(|g| g.as_str().to_owned()).collect();
    header.extend(render::header(&COLUMNS));
    if forecast.is_some() {
        header.insert(by.len() + 1, "forecast".to_owned());
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let mut cells = row.key.clone();
            cells.push(row.amount.to_string());
            cells.extend(projection(i));
            // Allocated from the bill by `reconcile --apply`: beside the
            // estimate, never added to it.
            cells.push(row.adjusted.to_string());
            cells.push(row.unpriced.to_string());
            cells.push(trim_float(row.quantity));
            cells.push(row.count.to_string());
            cells.push(row.errors.to_string());
            cells.push(row.p50_ms.map(trim_float).unwrap_or_default());
            cells.push(row.p95_ms.map(trim_float).unwrap_or_default());
            cells
        })
        .collect();
    match format {
        Format::Csv => csv::write(&header, &cells, out),
        _ => {
            // Right-aligned from `adjusted` on (and `forecast`).
            let numeric = header.len() - 7 - usize::from(forecast.is_some());
            Table::new(&header, &cells)
                .right_aligned(numeric..header.len())
                .write(&cells, true, out)?;
            if rows.is_empty() {
                writeln!(out, "(no events in this range)")?;
            }
            Ok(())
        }
    }
}

/// One row as a JSON object; money as strings (JSON numbers are floats to
/// most readers).
fn object(row: &CostRow, by: &[GroupBy], forecast: Option<String>) -> Value {
    let mut object = Map::new();
    for (dimension, value) in by.iter().zip(&row.key) {
        object.insert(dimension.as_str().into(), value.clone().into());
    }
    object.insert("amount".into(), row.amount.to_string().into());
    if let Some(projected) = forecast {
        object.insert("forecast".into(), projected.into());
    }
    object.insert("adjusted".into(), row.adjusted.to_string().into());
    object.insert("unpriced".into(), row.unpriced.into());
    object.insert("quantity".into(), row.quantity.into());
    object.insert("count".into(), row.count.into());
    object.insert("errors".into(), row.errors.into());
    object.insert("p50_ms".into(), row.p50_ms.into());
    object.insert("p95_ms".into(), row.p95_ms.into());
    object.into()
}

/// Whole numbers without decimals, others to three places.
fn trim_float(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        format!("{value:.3}")
    }
}
