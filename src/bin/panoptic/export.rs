//! `panoptic export`: the raw events of a time range, streamed as JSON
//! lines, CSV, FOCUS (CSV or Parquet) or an Excel workbook, from MongoDB
//! when it answers, else from the spool. Memory stays bounded whatever the
//! range holds: events are written as they are read.

mod columns;
mod sink;
mod workbook;

use std::io;
use std::path::PathBuf;

use bson::Document;
use clap::{Args, ValueEnum};
use futures_util::TryStreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use panoptic::naming::DATABASE_PREFIX;
use panoptic::query::CostQuery;
use panoptic::{BillingEvent, Spool};

use crate::options::{Filters, Global, connect};
use sink::Sink;

/// `panoptic export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub filters: Filters,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
    pub format: ExportFormat,
    /// Write to this file instead of stdout (required for `xlsx` and
    /// `focus-parquet`).
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// One JSON document per line (MongoDB extended JSON, relaxed).
    Jsonl,
    /// Comma-separated, one row per event.
    Csv,
    /// FOCUS 1.2 as CSV, for FinOps tools: a row per priced component.
    Focus,
    /// FOCUS 1.2 as Parquet (a build with the `parquet` feature).
    FocusParquet,
    /// An Excel workbook: a sheet per currency, money as numbers.
    Xlsx,
}

/// Runs `panoptic export`.
pub async fn run(global: &Global, args: &ExportArgs) -> Result<(), String> {
    let query = args.filters.query();
    let mut sink = Sink::open(args.format, args.output.as_deref())?;
    // Hidden unless stderr is a terminal.
    let progress = ProgressBar::new_spinner();
    progress.set_style(
        ProgressStyle::with_template("{spinner} {pos} events exported ({per_sec})")
            .map_err(|e| e.to_string())?,
    );
    match connect::or_spool(global).await {
        Some(client) => from_mongodb(&client, &query, &mut sink, &progress).await?,
        None => from_spool(
            &Spool::open(&global.spool_dir),
            &query,
            &mut sink,
            &progress,
        )?,
    }
    progress.finish_and_clear();
    sink.finish()?;
    eprintln!("panoptic: exported {} event(s)", progress.position());
    if let Some(path) = &args.output {
        eprintln!("panoptic: wrote {}", path.display());
    }
    Ok(())
}

/// Every matching event of every `panoptic-*` database, collection by
/// collection.
async fn from_mongodb(
    client: &mongodb::Client,
    query: &CostQuery,
    sink: &mut Sink,
    progress: &ProgressBar,
) -> Result<(), String> {
    let error = |e: mongodb::error::Error| connect::describe(&e);
    let filter = query.filter();
    let databases = client.list_database_names().await.map_err(error)?;
    for name in databases.iter().filter(|n| n.starts_with(DATABASE_PREFIX)) {
        let database = client.database(name);
        for collection in database.list_collection_names().await.map_err(error)? {
            let mut cursor = database
                .collection::<Document>(&collection)
                .find(filter.clone())
                .await
                .map_err(error)?;
            while let Some(document) = cursor.try_next().await.map_err(error)? {
                // JSON lines keep a document as stored, event or not.
                let event = match sink.needs_events() {
                    true => {
                        Some(BillingEvent::from_document(&document).map_err(|e| e.to_string())?)
                    }
                    false => None,
                };
                sink.put(document, event)?;
                progress.inc(1);
            }
        }
    }
    Ok(())
}

/// Every matching event of the spool, written as it is read: memory is one
/// event, whatever the spool holds. A record that is not a billing event is
/// passed over.
fn from_spool(
    spool: &Spool,
    query: &CostQuery,
    sink: &mut Sink,
    progress: &ProgressBar,
) -> Result<(), String> {
    let unreadable = |e: io::Error| format!("cannot read the spool: {e}");
    for spooled in spool.reader().map_err(unreadable)? {
        // Decoded once, for the filters and for the line.
        let Ok(document) = spooled.map_err(unreadable)?.to_document() else {
            continue;
        };
        let Ok(event) = BillingEvent::from_document(&document) else {
            continue;
        };
        if !query.matches(&event) {
            continue;
        }
        sink.put(document, Some(event))?;
        progress.inc(1);
    }
    Ok(())
}
