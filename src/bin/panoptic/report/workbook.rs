//! `report --xlsx FILE`: the report as an Excel sheet, read from the same
//! rows as every other format (rollups where they cover the range): a row
//! per group and currency, money as numbers in each currency's format,
//! days as dates, then one total per currency with the calls it leaves out
//! as unpriced.

use std::path::Path;

use chrono::{NaiveDate, NaiveDateTime};
use panoptic::Decimal;
use panoptic::query::{CostRow, GroupBy, totals};

use super::conversion;
use super::figures::{self, UNPRICED};
use super::rows::Report;
use crate::render::xlsx::{Book, Cell};

/// Writes `report` to `path`.
pub(super) fn write(report: &Report, path: &Path) -> Result<(), String> {
    let mut book = Book::new(path);
    let header = report.header();
    let names: Vec<&str> = header.iter().map(String::as_str).collect();
    let by: Vec<&str> = report.by.iter().map(|g| g.as_str()).collect();
    let sheet = book.sheet(&format!("by {}", by.join(", ")), &names)?;
    let converted = report.conversion.is_some();
    let money = |amount: Decimal| match converted {
        true => amount.round_dp(6),
        false => amount,
    };
    for (index, converted_row) in report.rows.iter().enumerate() {
        let row = &converted_row.row;
        let rates = figures::rates(&converted_row.rates);
        let mut cells: Vec<Cell> = report
            .by
            .iter()
            .zip(&row.key)
            .map(|(dimension, value)| key_cell(*dimension, value))
            .collect();
        cells.push(Cell::Text(&row.currency));
        cells.push(amount_cell(money(row.amount), row, &row.currency));
        if converted {
            cells.push(Cell::Text(&rates));
        }
        if let Some(forecast) = report.forecast {
            let projected = forecast.per_row.get(index).copied().unwrap_or_default();
            cells.push(match row.all_unpriced() {
                true => Cell::Text(UNPRICED),
                false => Cell::Money(projected.round_dp(6), &row.currency),
            });
        }
        cells.push(Cell::Money(money(row.adjusted), &row.currency));
        cells.push(Cell::Number(row.unpriced as f64));
        cells.push(Cell::Number(row.quantity));
        cells.push(Cell::Number(row.count as f64));
        cells.push(Cell::Number(row.errors as f64));
        cells.push(row.p50_ms.map_or(Cell::Empty, Cell::Number));
        cells.push(row.p95_ms.map_or(Cell::Empty, Cell::Number));
        book.row(sheet, &cells)?;
    }
    // Totals under the rows, one per currency, as the table and CSV have.
    let plain: Vec<CostRow> = report.rows.iter().map(|r| r.row.clone()).collect();
    let totals = totals(&plain);
    let rates = figures::rates(&conversion::applied(report.rows));
    book.skip_row(sheet);
    for total in &totals {
        let note = figures::unpriced_note(total.unpriced, total.count);
        let mut cells = vec![Cell::Empty; report.by.len()];
        if let Some(first) = cells.first_mut() {
            *first = Cell::Text("total");
        }
        cells.push(Cell::Text(&total.currency));
        cells.push(match total.all_unpriced() {
            true => Cell::Empty,
            false => Cell::Money(money(total.amount), &total.currency),
        });
        if converted {
            cells.push(Cell::Text(&rates));
        }
        if let Some(forecast) = report.forecast {
            cells.push(Cell::Money(
                forecast.total(&total.currency).round_dp(6),
                &total.currency,
            ));
        }
        cells.push(Cell::Money(money(total.adjusted), &total.currency));
        cells.push(Cell::Number(total.unpriced as f64));
        cells.push(Cell::Empty);
        cells.push(Cell::Number(total.count as f64));
        cells.push(Cell::Number(total.errors as f64));
        // Past p50/p95, which a total has none of.
        cells.extend([Cell::Empty, Cell::Empty, Cell::Text(&note)]);
        book.row(sheet, &cells)?;
    }
    book.save()?;
    eprintln!("panoptic: wrote {}", path.display());
    Ok(())
}

/// No amount (an empty cell), never 0, when every call was unpriced.
fn amount_cell<'a>(amount: Decimal, row: &CostRow, currency: &'a str) -> Cell<'a> {
    match row.all_unpriced() {
        true => Cell::Empty,
        false => Cell::Money(amount, currency),
    }
}

/// A grouping value: days as dates, hours as times, the rest as text.
fn key_cell(dimension: GroupBy, value: &str) -> Cell<'_> {
    match dimension {
        GroupBy::Day => {
            NaiveDate::parse_from_str(value, "%Y-%m-%d").map_or(Cell::Text(value), Cell::Day)
        }
        GroupBy::Hour => NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%MZ")
            .map_or(Cell::Text(value), |t| Cell::Time(t.and_utc())),
        _ => Cell::Text(value),
    }
}
