//! Excel workbooks (`.xlsx`): typed cells, so that money is a number in
//! its currency's format and a date is a date, and text is always written
//! as text, never as a formula, whatever it begins with. Sheets are
//! written in constant memory (a row at a time, flushed to a temporary
//! file), so a million events cost what one row costs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use panoptic::Decimal;
use rust_decimal::prelude::ToPrimitive;
use rust_xlsxwriter::{Format, Workbook, XlsxError};

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell<'a> {
    /// Nothing.
    Empty,
    /// Text, shown as given (never run as a formula).
    Text(&'a str),
    /// Money in a currency (ISO 4217), in that currency's format.
    Money(Decimal, &'a str),
    /// A plain number.
    Number(f64),
    /// A time (UTC), to the millisecond.
    Time(DateTime<Utc>),
    /// A day.
    Day(NaiveDate),
}

/// A sheet of a [`Book`], by its place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SheetId(usize);

/// A workbook being written, saved to `path` at the end.
pub struct Book {
    workbook: Workbook,
    path: PathBuf,
    /// The next row of each sheet.
    next_row: Vec<u32>,
    header: Format,
    time: Format,
    day: Format,
    money: HashMap<String, Format>,
}

/// Excel's limit on a sheet name's length.
const SHEET_NAME_MAX: usize = 31;

fn error(e: XlsxError) -> String {
    format!("cannot write the workbook: {e}")
}

impl Book {
    /// An empty workbook, to be saved to `path`.
    pub fn new(path: &Path) -> Book {
        Book {
            workbook: Workbook::new(),
            path: path.to_owned(),
            next_row: Vec::new(),
            header: Format::new().set_bold(),
            time: Format::new().set_num_format("yyyy-mm-dd hh:mm:ss.000"),
            day: Format::new().set_num_format("yyyy-mm-dd"),
            money: HashMap::new(),
        }
    }

    /// A new sheet (a name Excel accepts is made from `name`) with `header`
    /// in bold in its first row, frozen so it stays in view.
    pub fn sheet(&mut self, name: &str, header: &[&str]) -> Result<SheetId, String> {
        let sheet = self
            .workbook
            .add_worksheet_with_constant_memory()
            .map_err(error)?;
        sheet.set_name(sheet_name(name)).map_err(error)?;
        sheet.set_freeze_panes(1, 0).map_err(error)?;
        for (column, title) in header.iter().enumerate() {
            sheet
                .write_string_with_format(0, column as u16, *title, &self.header)
                .map_err(error)?;
            sheet
                .set_column_width(column as u16, (title.len() + 4).max(12) as f64)
                .map_err(error)?;
        }
        self.next_row.push(1);
        Ok(SheetId(self.next_row.len() - 1))
    }

    /// Appends a row of `cells` to `sheet`.
    pub fn row(&mut self, sheet: SheetId, cells: &[Cell]) -> Result<(), String> {
        let row = self.next_row[sheet.0];
        self.next_row[sheet.0] += 1;
        for (column, cell) in cells.iter().enumerate() {
            if let Cell::Money(_, currency) = cell
                && !self.money.contains_key(*currency)
            {
                let format = Format::new().set_num_format(money_format(currency));
                self.money.insert((*currency).to_owned(), format);
            }
            let worksheet = self.workbook.worksheet_from_index(sheet.0).map_err(error)?;
            let column = column as u16;
            match cell {
                Cell::Empty => {}
                Cell::Text(text) => {
                    worksheet.write_string(row, column, *text).map_err(error)?;
                }
                // A float only here, at the last moment: the decimal is
                // exact until the cell is written.
                Cell::Money(amount, currency) => {
                    let value = amount.to_f64().unwrap_or(f64::NAN);
                    worksheet
                        .write_number_with_format(row, column, value, &self.money[*currency])
                        .map_err(error)?;
                }
                Cell::Number(value) => {
                    worksheet.write_number(row, column, *value).map_err(error)?;
                }
                Cell::Time(time) => {
                    worksheet
                        .write_datetime_with_format(row, column, time.naive_utc(), &self.time)
                        .map_err(error)?;
                }
                Cell::Day(day) => {
                    worksheet
                        .write_datetime_with_format(row, column, day, &self.day)
                        .map_err(error)?;
                }
            }
        }
        Ok(())
    }

    /// Skips a row of `sheet` (a gap before totals).
    pub fn skip_row(&mut self, sheet: SheetId) {
        self.next_row[sheet.0] += 1;
    }

    /// Writes the workbook to its file.
    pub fn save(mut self) -> Result<(), String> {
        if self.next_row.is_empty() {
            // Excel refuses a workbook without a sheet.
            self.sheet("empty", &[])?;
        }
        self.workbook
            .save(&self.path)
            .map_err(|e| format!("cannot write {}: {e}", self.path.display()))
    }
}

/// `$` before a USD amount, the ISO code after any other, as the dashboard
/// shows them; two to ten decimals, so that a fraction of a cent shows.
fn money_format(currency: &str) -> String {
    let code: String = currency
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    match code.as_str() {
        "USD" => "\"$\"#,##0.00########".to_owned(),
        _ => format!("#,##0.00########\" {code}\""),
    }
}

/// A name Excel accepts: none of `[]:*?/\`, at most 31 characters.
fn sheet_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| match c {
            '[' | ']' | ':' | '*' | '?' | '/' | '\\' => '_',
            other => other,
        })
        .take(SHEET_NAME_MAX)
        .collect();
    match cleaned.trim_matches('\'') {
        "" => "sheet".to_owned(),
        trimmed => trimmed.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_names() {
        assert_eq!(money_format("USD"), "\"$\"#,##0.00########");
        assert_eq!(money_format("EUR"), "#,##0.00########\" EUR\"");
        assert_eq!(sheet_name("by day/service"), "by day_service");
        assert_eq!(sheet_name(&"x".repeat(40)).len(), 31);
    }
}
