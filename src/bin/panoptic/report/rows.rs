//! The report's rows in each format: a table for people, CSV and JSON for
//! scripts. Every row names its currency; totals are one per currency,
//! each with the calls it leaves out as unpriced.

use std::io::{self, Write};

use panoptic::Decimal;
use panoptic::query::{ConvertedRow, CostRow, CurrencyTotal, GroupBy, totals};
use serde_json::{Map, Value, json};

use super::conversion::{self, Conversion};
use super::figures::{self, UNPRICED};
use super::forecast::Forecasts;
use crate::render::{self, Format, csv, json, table::Table};

/// The columns after `amount` (and `rate`, `forecast` when present).
const COLUMNS: [&str; 7] = [
    "adjusted", "unpriced", "quantity", "count", "errors", "p50_ms", "p95_ms",
];

/// What the first grouping cell of a total says in a table or CSV.
const TOTAL: &str = "total";

/// The rows of one report and how they were made.
pub(super) struct Report<'a> {
    /// The rows, converted when `conversion` is given.
    pub rows: &'a [ConvertedRow],
    /// The dimensions of each row's key.
    pub by: &'a [GroupBy],
    /// `--currency`, if asked.
    pub conversion: Option<&'a Conversion>,
    /// `--forecast`, if asked.
    pub forecast: Option<&'a Forecasts>,
}

impl Report<'_> {
    /// Writes the report in `format`.
    pub(super) fn write(&self, format: Format, out: &mut impl Write) -> io::Result<()> {
        let plain: Vec<CostRow> = self.rows.iter().map(|r| r.row.clone()).collect();
        let totals = totals(&plain);
        match format {
            Format::Json => json::write_value(&self.json(&totals), out),
            Format::Csv => {
                // No amount (an empty cell) when every call was unpriced.
                let mut cells = self.row_cells(|r| {
                    if r.all_unpriced() {
                        String::new()
                    } else {
                        self.amount(r.amount)
                    }
                });
                cells.extend(totals.iter().map(|t| self.total_cells(t)));
                csv::write(&self.header(), &cells, out)
            }
            Format::Table => {
                let header = self.header();
                let cells = self.row_cells(|r| {
                    figures::amount_or_unpriced(r.amount, r.all_unpriced(), self.converted())
                });
                // Right-aligned from `adjusted` on.
                let numeric = header.len() - COLUMNS.len();
                Table::new(&header, &cells)
                    .right_aligned(numeric..header.len())
                    .write(&cells, true, out)?;
                if self.rows.is_empty() {
                    writeln!(out, "(no events in this range)")?;
                }
                for total in &totals {
                    writeln!(out, "{}", self.total_line(total))?;
                }
                Ok(())
            }
        }
    }

    fn converted(&self) -> bool {
        self.conversion.is_some()
    }

    fn amount(&self, amount: Decimal) -> String {
        figures::amount(amount, self.converted())
    }

    /// The header of every format: groupings, currency, amount, then the
    /// optional and fixed columns.
    pub(super) fn header(&self) -> Vec<String> {
        let mut header: Vec<String> = self.by.iter().map(|g| g.as_str().to_owned()).collect();
        header.extend(render::header(&["currency", "amount"]));
        if self.converted() {
            header.push("rate".to_owned());
        }
        if self.forecast.is_some() {
            header.push("forecast".to_owned());
        }
        header.extend(render::header(&COLUMNS));
        header
    }

    /// The row's projection; `unpriced` when none of its calls has a price.
    fn projection(&self, index: usize, row: &CostRow) -> Option<String> {
        let forecast = self.forecast?;
        let projected = forecast.per_row.get(index).copied().unwrap_or_default();
        Some(if row.all_unpriced() {
            UNPRICED.to_owned()
        } else {
            forecast_figure(projected)
        })
    }

    /// One line of cells per row; `amount_cell` writes the amount.
    fn row_cells(&self, amount_cell: impl Fn(&CostRow) -> String) -> Vec<Vec<String>> {
        self.rows
            .iter()
            .enumerate()
            .map(|(i, converted)| {
                let row = &converted.row;
                let mut cells = row.key.clone();
                cells.push(row.currency.clone());
                cells.push(amount_cell(row));
                if self.converted() {
                    cells.push(figures::rates(&converted.rates));
                }
                cells.extend(self.projection(i, row));
                // Allocated from the bill by `reconcile --apply`: beside the
                // estimate, never added to it.
                cells.push(self.amount(row.adjusted));
                cells.push(row.unpriced.to_string());
                cells.push(trim_float(row.quantity));
                cells.push(row.count.to_string());
                cells.push(row.errors.to_string());
                cells.push(row.p50_ms.map(trim_float).unwrap_or_default());
                cells.push(row.p95_ms.map(trim_float).unwrap_or_default());
                cells
            })
            .collect()
    }

    /// A total as a CSV line: `total` in the first grouping column, the
    /// others empty; no quantity (units differ) nor percentiles.
    fn total_cells(&self, total: &CurrencyTotal) -> Vec<String> {
        let mut cells = vec![String::new(); self.by.len()];
        if let Some(first) = cells.first_mut() {
            *first = TOTAL.to_owned();
        }
        cells.push(total.currency.clone());
        if total.all_unpriced() {
            cells.push(String::new());
        } else {
            cells.push(self.amount(total.amount));
        }
        if self.converted() {
            cells.push(figures::rates(&conversion::applied(self.rows)));
        }
        if let Some(forecast) = self.forecast {
            cells.push(forecast_figure(forecast.total(&total.currency)));
        }
        cells.push(self.amount(total.adjusted));
        cells.push(total.unpriced.to_string());
        cells.push(String::new());
        cells.push(total.count.to_string());
        cells.push(total.errors.to_string());
        cells.extend([String::new(), String::new()]);
        cells
    }

    /// `total  13.3 USD (converted at …)  (3 calls unpriced, not counted)`.
    fn total_line(&self, total: &CurrencyTotal) -> String {
        let mut line = format!("{TOTAL}  ");
        line.push_str(&format!(
            "{} {}",
            figures::amount_or_unpriced(total.amount, total.all_unpriced(), self.converted()),
            total.currency
        ));
        let rates = figures::rates(&conversion::applied(self.rows));
        if !rates.is_empty() {
            line.push_str(&format!(" (converted at {rates})"));
        }
        if !total.adjusted.is_zero() {
            line.push_str(&format!(
                ", adjusted {} {}",
                self.amount(total.adjusted),
                total.currency
            ));
        }
        if let Some(forecast) = self.forecast {
            line.push_str(&format!(
                ", forecast {} {}",
                forecast_figure(forecast.total(&total.currency)),
                total.currency
            ));
        }
        line.push_str(&format!(
            "  ({})",
            figures::unpriced_note(total.unpriced, total.count)
        ));
        line
    }

    /// `{"rows": [...], "totals": [...]}` (and `converted` when asked):
    /// totals apart from the rows, so that summing the rows never counts
    /// a total twice.
    fn json(&self, totals: &[CurrencyTotal]) -> Value {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .enumerate()
            .map(|(i, converted)| self.row_object(i, converted))
            .collect();
        let rates = figures::rates(&conversion::applied(self.rows));
        let totals: Vec<Value> = totals
            .iter()
            .map(|total| {
                let mut object = Map::new();
                object.insert("currency".into(), total.currency.clone().into());
                object.insert(
                    "amount".into(),
                    self.json_amount(total.amount, total.all_unpriced()),
                );
                if self.converted() {
                    object.insert("rate".into(), optional(&rates));
                }
                if let Some(forecast) = self.forecast {
                    object.insert(
                        "forecast".into(),
                        forecast_figure(forecast.total(&total.currency)).into(),
                    );
                }
                object.insert("adjusted".into(), self.amount(total.adjusted).into());
                object.insert("unpriced".into(), total.unpriced.into());
                object.insert("count".into(), total.count.into());
                object.insert("errors".into(), total.errors.into());
                object.into()
            })
            .collect();
        let mut report = json!({ "rows": rows, "totals": totals });
        if let Some(conversion) = self.conversion {
            report["converted"] =
                json!({ "to": conversion.to, "rates_on": conversion.on.to_string() });
        }
        report
    }

    /// One row as a JSON object; money as strings (JSON numbers are floats
    /// to most readers), `null` when none of its calls has a price.
    fn row_object(&self, index: usize, converted: &ConvertedRow) -> Value {
        let row = &converted.row;
        let mut object = Map::new();
        for (dimension, value) in self.by.iter().zip(&row.key) {
            object.insert(dimension.as_str().into(), value.clone().into());
        }
        object.insert("currency".into(), row.currency.clone().into());
        object.insert(
            "amount".into(),
            self.json_amount(row.amount, row.all_unpriced()),
        );
        if self.converted() {
            object.insert("rate".into(), optional(&figures::rates(&converted.rates)));
        }
        if self.forecast.is_some() {
            let projected = self.projection(index, row).filter(|p| p != UNPRICED);
            object.insert("forecast".into(), projected.into());
        }
        object.insert("adjusted".into(), self.amount(row.adjusted).into());
        object.insert("unpriced".into(), row.unpriced.into());
        object.insert("quantity".into(), row.quantity.into());
        object.insert("count".into(), row.count.into());
        object.insert("errors".into(), row.errors.into());
        object.insert("p50_ms".into(), row.p50_ms.into());
        object.insert("p95_ms".into(), row.p95_ms.into());
        object.into()
    }

    fn json_amount(&self, amount: Decimal, all_unpriced: bool) -> Value {
        if all_unpriced {
            Value::Null
        } else {
            self.amount(amount).into()
        }
    }
}

/// A text value, `null` when empty.
fn optional(text: &str) -> Value {
    if text.is_empty() {
        Value::Null
    } else {
        text.into()
    }
}

fn forecast_figure(projected: Decimal) -> String {
    projected.round_dp(6).normalize().to_string()
}

/// Whole numbers without decimals, others to three places.
fn trim_float(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        format!("{value:.3}")
    }
}
