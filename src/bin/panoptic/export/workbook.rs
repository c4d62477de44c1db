//! The events as an Excel workbook: a sheet per currency (two currencies
//! never share a column of money), each event a row as it is read, and
//! under each sheet its total and how many calls it leaves out as
//! unpriced.

use std::collections::BTreeMap;
use std::path::Path;

use panoptic::{BillingEvent, Decimal, Kind};

use super::columns::{EVENT_COLUMNS, text_cells};
use crate::render::xlsx::{Book, Cell, SheetId};

/// Where `amount` and `unpriced` are among [`EVENT_COLUMNS`].
const AMOUNT: usize = 12;
const UNPRICED: usize = 14;

/// A currency's sheet and what its totals need.
struct CurrencySheet {
    sheet: SheetId,
    /// Priced calls' amounts: what `panoptic report` calls `amount`.
    amount: Decimal,
    /// Adjustments from `reconcile --apply`, apart, as the report has them.
    adjusted: Decimal,
    adjustments: u64,
    calls: u64,
    unpriced: u64,
}

/// An export being written.
pub struct EventBook {
    book: Book,
    sheets: BTreeMap<String, CurrencySheet>,
}

impl EventBook {
    /// A workbook to be saved to `path`.
    pub fn new(path: &Path) -> Result<EventBook, String> {
        Ok(EventBook {
            book: Book::new(path),
            sheets: BTreeMap::new(),
        })
    }

    /// Appends `event` to its currency's sheet (made on its first event).
    pub fn put(&mut self, event: &BillingEvent) -> Result<(), String> {
        if !self.sheets.contains_key(&event.currency) {
            let sheet = self.book.sheet(&event.currency, &EVENT_COLUMNS)?;
            self.sheets.insert(
                event.currency.clone(),
                CurrencySheet {
                    sheet,
                    amount: Decimal::ZERO,
                    adjusted: Decimal::ZERO,
                    adjustments: 0,
                    calls: 0,
                    unpriced: 0,
                },
            );
        }
        let entry = self
            .sheets
            .get_mut(&event.currency)
            .expect("inserted above");
        match (event.kind, event.amount) {
            (Kind::Adjustment, amount) => {
                entry.adjustments += 1;
                entry.adjusted += amount.unwrap_or_default();
            }
            (_, Some(amount)) => {
                entry.calls += 1;
                entry.amount += amount;
            }
            (_, None) => {
                entry.calls += 1;
                entry.unpriced += 1;
            }
        }
        let text = text_cells(event);
        let mut cells: Vec<Cell> = text.iter().map(|t| Cell::Text(t)).collect();
        cells[1] = Cell::Time(event.ts);
        cells[10] = Cell::Number(event.quantity);
        cells[AMOUNT] = match event.amount {
            Some(amount) => Cell::Money(amount, &event.currency),
            None => Cell::Empty,
        };
        // The duration as written in CSV (to the nanosecond), as a number.
        cells[15] = match text[15].parse::<f64>() {
            Ok(ms) => Cell::Number(ms),
            Err(_) => Cell::Empty,
        };
        let sheet = entry.sheet;
        self.book.row(sheet, &cells)
    }

    /// Writes each sheet's totals, then the file.
    pub fn save(mut self) -> Result<(), String> {
        for (currency, totals) in &self.sheets {
            self.book.skip_row(totals.sheet);
            let label = format!(
                "total: {} calls, {} unpriced (not counted)",
                totals.calls, totals.unpriced
            );
            let mut cells = vec![Cell::Empty; EVENT_COLUMNS.len()];
            cells[0] = Cell::Text(&label);
            // No amount, never 0, when every call was unpriced.
            if totals.unpriced < totals.calls {
                cells[AMOUNT] = Cell::Money(totals.amount, currency);
            }
            cells[AMOUNT + 1] = Cell::Text(currency);
            cells[UNPRICED] = Cell::Number(totals.unpriced as f64);
            self.book.row(totals.sheet, &cells)?;
            if totals.adjustments > 0 {
                let label = format!(
                    "adjusted: {} adjustments from reconcile (beside the total, not in it)",
                    totals.adjustments
                );
                let mut cells = vec![Cell::Empty; EVENT_COLUMNS.len()];
                cells[0] = Cell::Text(&label);
                cells[AMOUNT] = Cell::Money(totals.adjusted, currency);
                cells[AMOUNT + 1] = Cell::Text(currency);
                self.book.row(totals.sheet, &cells)?;
            }
        }
        self.book.save()
    }
}
