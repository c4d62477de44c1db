//! Writing reports: a table for people, CSV and JSON for scripts.

use std::io::{self, Write};

use panoptic::Decimal;
use panoptic::query::{CostRow, GroupBy};

use crate::args::ReportFormat;

/// `forecast`: each row's end-of-period projection (`--forecast`), as a
/// `forecast` column after `amount`.
pub fn report(
    rows: &[CostRow],
    by: &[GroupBy],
    forecast: Option<&[Decimal]>,
    format: ReportFormat,
    out: &mut impl Write,
) -> io::Result<()> {
    let mut header: Vec<String> = by.iter().map(|g| g.as_str().to_owned()).collect();
    header.extend(
        [
            "amount", "adjusted", "unpriced", "quantity", "count", "errors", "p50_ms", "p95_ms",
        ]
        .map(String::from),
    );
    let projection = |i: usize| {
        forecast
            .and_then(|f| f.get(i))
            .map(|f| f.round_dp(6).normalize().to_string())
    };
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
        // Right-aligned from `adjusted` on (and `forecast`).
        ReportFormat::Table => table(
            &header,
            &cells,
            header.len() - 7 - usize::from(forecast.is_some()),
            out,
        ),
        ReportFormat::Csv => {
            writeln!(out, "{}", csv_line(&header))?;
            for row in &cells {
                writeln!(out, "{}", csv_line(row))?;
            }
            Ok(())
        }
        ReportFormat::Json => {
            let items: Vec<serde_json::Value> = rows
                .iter()
                .enumerate()
                .map(|(i, row)| {
                    let mut object = serde_json::Map::new();
                    for (dimension, value) in by.iter().zip(&row.key) {
                        object.insert(dimension.as_str().into(), value.clone().into());
                    }
                    // Money as a string: JSON numbers are floats to most readers.
                    object.insert("amount".into(), row.amount.to_string().into());
                    if let Some(projected) = projection(i) {
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
                })
                .collect();
            serde_json::to_writer_pretty(&mut *out, &items).map_err(io::Error::other)?;
            writeln!(out)
        }
    }
}

fn table(
    header: &[String],
    rows: &[Vec<String>],
    numeric_from: usize,
    out: &mut impl Write,
) -> io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| -> String {
        cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (cell, width))| {
                if i >= numeric_from {
                    format!("{cell:>width$}")
                } else {
                    format!("{cell:<width$}")
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    writeln!(out, "{}", line(header))?;
    writeln!(
        out,
        "{}",
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("  ")
    )?;
    for row in rows {
        writeln!(out, "{}", line(row))?;
    }
    if rows.is_empty() {
        writeln!(out, "(no events in this range)")?;
    }
    Ok(())
}

/// One CSV line, quoting cells that need it (RFC 4180).
pub fn csv_line(cells: &[String]) -> String {
    cells
        .iter()
        .map(|cell| {
            if cell.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", cell.replace('"', "\"\""))
            } else {
                cell.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn trim_float(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        format!("{value:.3}")
    }
}
