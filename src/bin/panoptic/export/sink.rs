//! Where exported events go: one writer per format, each fed one event at
//! a time.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use bson::{Bson, Document};
use chrono::SecondsFormat;
use panoptic::BillingEvent;
use panoptic::focus::{self, Value};

use super::ExportFormat;
use super::columns::{EVENT_COLUMNS, text_cells};
use super::workbook::EventBook;
use crate::render::{self, csv};

/// An open export.
pub enum Sink {
    /// JSON lines.
    Jsonl(Box<dyn Write>),
    /// panoptic's own CSV columns.
    Csv(Box<dyn Write>),
    /// FOCUS as CSV.
    Focus(Box<dyn Write>),
    /// FOCUS as Parquet.
    #[cfg(feature = "parquet")]
    FocusParquet(Box<focus::parquet::FocusParquet<BufWriter<File>>>),
    /// An Excel workbook, saved at the end.
    Xlsx(Box<EventBook>),
}

impl Sink {
    /// Opens `format` into `output` (stdout when `None`, where the format
    /// allows it) and writes its header.
    pub fn open(format: ExportFormat, output: Option<&Path>) -> Result<Sink, String> {
        let create = |path: &Path| {
            File::create(path).map_err(|e| format!("cannot create {}: {e}", path.display()))
        };
        let needs_file = |what: &str| format!("--format {what} writes a file: give --output FILE");
        let text_out = || -> Result<Box<dyn Write>, String> {
            Ok(match output {
                Some(path) => Box::new(BufWriter::new(create(path)?)),
                None => Box::new(BufWriter::new(io::stdout().lock())),
            })
        };
        Ok(match format {
            ExportFormat::Jsonl => Sink::Jsonl(text_out()?),
            ExportFormat::Csv => {
                let mut out = text_out()?;
                write_line(&mut out, &csv::line(&render::header(&EVENT_COLUMNS)))?;
                Sink::Csv(out)
            }
            ExportFormat::Focus => {
                let mut out = text_out()?;
                let header: Vec<String> = focus::names().map(str::to_owned).collect();
                write_line(&mut out, &csv::line(&header))?;
                Sink::Focus(out)
            }
            ExportFormat::FocusParquet => {
                let path = output.ok_or_else(|| needs_file("focus-parquet"))?;
                parquet_sink(path)?
            }
            ExportFormat::Xlsx => {
                let path = output.ok_or_else(|| needs_file("xlsx"))?;
                Sink::Xlsx(Box::new(EventBook::new(path)?))
            }
        })
    }

    /// Whether [`put`](Self::put) needs the event decoded.
    pub fn needs_events(&self) -> bool {
        !matches!(self, Sink::Jsonl(_))
    }

    /// Writes one event (`event` is its decoded `document`).
    pub fn put(&mut self, document: Document, event: Option<BillingEvent>) -> Result<(), String> {
        let event = || event.ok_or_else(|| "an event was not decoded".to_owned());
        match self {
            Sink::Jsonl(out) => write_line(out, &json_line(document)?),
            Sink::Csv(out) => write_line(out, &csv::line(&text_cells(&event()?))),
            Sink::Focus(out) => {
                for row in focus::rows(&event()?) {
                    let cells: Vec<String> = row.values().iter().map(focus_text).collect();
                    write_line(out, &csv::line(&cells))?;
                }
                Ok(())
            }
            #[cfg(feature = "parquet")]
            Sink::FocusParquet(writer) => writer
                .write(focus::rows(&event()?))
                .map_err(|e| format!("cannot write Parquet: {e}")),
            Sink::Xlsx(book) => book.put(&event()?),
        }
    }

    /// Flushes, and writes what a format writes at the end (Parquet's
    /// footer, the workbook).
    pub fn finish(self) -> Result<(), String> {
        let flush = |mut out: Box<dyn Write>| out.flush().map_err(|e| format!("cannot write: {e}"));
        match self {
            Sink::Jsonl(out) | Sink::Csv(out) | Sink::Focus(out) => flush(out),
            #[cfg(feature = "parquet")]
            Sink::FocusParquet(writer) => (*writer)
                .close()
                .map_err(|e| format!("cannot write Parquet: {e}")),
            Sink::Xlsx(book) => {
                let book = *book;
                book.save()
            }
        }
    }
}

#[cfg(feature = "parquet")]
fn parquet_sink(path: &Path) -> Result<Sink, String> {
    let file = File::create(path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    focus::parquet::FocusParquet::new(BufWriter::new(file))
        .map(|writer| Sink::FocusParquet(Box::new(writer)))
        .map_err(|e| format!("cannot write Parquet: {e}"))
}

/// Said before any file is made.
#[cfg(not(feature = "parquet"))]
fn parquet_sink(_path: &Path) -> Result<Sink, String> {
    Err(
        "this panoptic was built without the `parquet` feature: use --format focus (CSV)"
            .to_owned(),
    )
}

/// A FOCUS value as CSV text: decimals exactly, times in UTC to the
/// second, null as an empty cell.
fn focus_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Text(text) => text.clone(),
        Value::Decimal(d) => d.to_string(),
        Value::Time(t) => t.to_rfc3339_opts(SecondsFormat::Secs, true),
    }
}

/// `document` as one line of extended JSON (relaxed).
fn json_line(document: Document) -> Result<String, String> {
    serde_json::to_string(&Bson::Document(document).into_relaxed_extjson())
        .map_err(|e| e.to_string())
}

fn write_line(out: &mut dyn Write, line: &str) -> Result<(), String> {
    writeln!(out, "{line}").map_err(|e| format!("cannot write: {e}"))
}
