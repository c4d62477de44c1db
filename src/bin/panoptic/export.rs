//! `panoptic export`: the raw events of a time range, streamed as JSON
//! lines or CSV, from MongoDB when it answers, else from the spool.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use bson::{Bson, Document};
use clap::{Args, ValueEnum};
use futures_util::TryStreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use panoptic::naming::DATABASE_PREFIX;
use panoptic::query::CostQuery;
use panoptic::{BillingEvent, Spool};

use crate::options::{Filters, Global, connect};
use crate::render::{self, csv};

/// `panoptic export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub filters: Filters,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
    pub format: ExportFormat,
    /// Write to this file instead of stdout.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

/// Export formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    /// One JSON document per line (MongoDB extended JSON, relaxed).
    Jsonl,
    /// Comma-separated, one row per event.
    Csv,
}

const CSV_COLUMNS: [&str; 17] = [
    "_id",
    "ts",
    "env",
    "username",
    "projectId",
    "provider",
    "service",
    "resource",
    "kind",
    "outcome",
    "quantity",
    "unit",
    "amount",
    "currency",
    "unpriced",
    "duration_ms",
    "error",
];

fn csv_row(event: &BillingEvent) -> String {
    csv::line(&[
        event.id.to_hex(),
        event
            .ts
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        event.env.clone(),
        event.username.clone(),
        event.project_id.clone().unwrap_or_default(),
        event.provider.clone(),
        event.service.clone(),
        event.resource.clone(),
        event.kind.to_string(),
        event.outcome.to_string(),
        event.quantity.to_string(),
        event.unit.clone(),
        event.amount.map(|a| a.to_string()).unwrap_or_default(),
        event.currency.clone(),
        event.metadata.unpriced().unwrap_or_default().to_owned(),
        event
            .metadata
            .duration_ms
            .map(|d| d.to_string())
            .unwrap_or_default(),
        event.metadata.error.clone().unwrap_or_default(),
    ])
}

/// `document` as one line of extended JSON (relaxed).
fn json_line(document: Document) -> Result<String, String> {
    serde_json::to_string(&Bson::Document(document).into_relaxed_extjson())
        .map_err(|e| e.to_string())
}

fn write_line(out: &mut dyn Write, line: &str) -> Result<(), String> {
    writeln!(out, "{line}").map_err(|e| format!("cannot write: {e}"))
}

fn write_event(
    out: &mut dyn Write,
    format: ExportFormat,
    document: Document,
) -> Result<(), String> {
    let line = match format {
        ExportFormat::Jsonl => json_line(document)?,
        ExportFormat::Csv => {
            csv_row(&BillingEvent::from_document(&document).map_err(|e| e.to_string())?)
        }
    };
    write_line(out, &line)
}

/// Runs `panoptic export`.
pub async fn run(global: &Global, args: &ExportArgs) -> Result<(), String> {
    let query = args.filters.query();
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(BufWriter::new(
            File::create(path).map_err(|e| format!("cannot create {}: {e}", path.display()))?,
        )),
        None => Box::new(BufWriter::new(io::stdout().lock())),
    };
    if matches!(args.format, ExportFormat::Csv) {
        writeln!(out, "{}", csv::line(&render::header(&CSV_COLUMNS))).map_err(|e| e.to_string())?;
    }
    // Hidden unless stderr is a terminal.
    let progress = ProgressBar::new_spinner();
    progress.set_style(
        ProgressStyle::with_template("{spinner} {pos} events exported ({per_sec})")
            .map_err(|e| e.to_string())?,
    );
    match connect::or_spool(global).await {
        Some(client) => from_mongodb(&client, &query, args.format, &mut out, &progress).await?,
        None => from_spool(
            &Spool::open(&global.spool_dir),
            &query,
            args.format,
            &mut out,
            &progress,
        )?,
    }
    progress.finish_and_clear();
    out.flush().map_err(|e| format!("cannot write: {e}"))?;
    eprintln!("panoptic: exported {} event(s)", progress.position());
    Ok(())
}

/// Every matching event of every `panoptic-*` database, collection by
/// collection.
async fn from_mongodb(
    client: &mongodb::Client,
    query: &CostQuery,
    format: ExportFormat,
    out: &mut dyn Write,
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
                write_event(out, format, document)?;
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
    format: ExportFormat,
    out: &mut dyn Write,
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
        let line = match format {
            ExportFormat::Jsonl => json_line(document)?,
            ExportFormat::Csv => csv_row(&event),
        };
        write_line(out, &line)?;
        progress.inc(1);
    }
    Ok(())
}
