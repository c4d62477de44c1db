//! The events as an Excel workbook: a sheet per currency (two currencies
//! never share a column of money), each event a row as it is read, and
//! under each currency's last sheet its total and how many calls it
//! leaves out as unpriced. A currency with more events than a sheet holds
//! goes on in `USD (2)`, `USD (3)`, ….

use std::collections::BTreeMap;
use std::path::Path;

use panoptic::{BillingEvent, Decimal, Kind};

use super::columns::{EVENT_COLUMNS, text_cells};
use crate::render::xlsx::{Book, Cell, SheetId};

/// Where `amount` and `unpriced` are among [`EVENT_COLUMNS`].
const AMOUNT: usize = 12;
const UNPRICED: usize = 14;

/// Rows of a sheet in Excel.
const EXCEL_ROWS: u32 = 1_048_576;

/// Events a sheet takes: all rows but the header, the gap and two totals.
const SHEET_EVENTS: u32 = EXCEL_ROWS - 4;

/// A currency's sheet and what its totals need.
struct CurrencySheet {
    sheet: SheetId,
    /// Sheets of this currency so far, and events on the last one.
    sheets: u32,
    rows: u32,
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
    /// [`SHEET_EVENTS`], smaller in tests.
    sheet_events: u32,
}

impl EventBook {
    /// A workbook to be saved to `path`.
    pub fn new(path: &Path) -> Result<EventBook, String> {
        Ok(EventBook {
            book: Book::new(path),
            sheets: BTreeMap::new(),
            sheet_events: SHEET_EVENTS,
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
                    sheets: 1,
                    rows: 0,
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
        if entry.rows == self.sheet_events {
            entry.sheets += 1;
            entry.rows = 0;
            let name = format!("{} ({})", event.currency, entry.sheets);
            entry.sheet = self.book.sheet(&name, &EVENT_COLUMNS)?;
        }
        entry.rows += 1;
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

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{Reader, Xlsx, open_workbook};

    #[test]
    fn a_full_sheet_goes_on_in_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.xlsx");
        let mut book = EventBook::new(&path).unwrap();
        book.sheet_events = 2;
        let event = BillingEvent::from_document(
            &BillingEvent {
                id: bson::oid::ObjectId::new(),
                ts: chrono::Utc::now(),
                project_id: None,
                env: "dev".into(),
                username: "u".into(),
                category: panoptic::Category::Infra,
                provider: "aws".into(),
                service: "S3".into(),
                resource: "r".into(),
                kind: Kind::Invoice,
                outcome: panoptic::Outcome::Ok,
                quantity: 1.0,
                unit: "call".into(),
                amount: Some(Decimal::ONE),
                currency: "USD".into(),
                metadata: panoptic::Metadata::default(),
            }
            .to_document(),
        )
        .unwrap();
        for _ in 0..5 {
            book.put(&event).unwrap();
        }
        book.save().unwrap();
        let mut workbook: Xlsx<_> = open_workbook(&path).unwrap();
        assert_eq!(workbook.sheet_names(), ["USD", "USD (2)", "USD (3)"]);
        // Header + 2 events on the first two; the last has 1 and the total.
        let heights: Vec<usize> = ["USD", "USD (2)", "USD (3)"]
            .iter()
            .map(|name| workbook.worksheet_range(name).unwrap().height())
            .collect();
        assert_eq!(heights, [3, 3, 4]);
    }
}
