//! The subcommands: read from MongoDB when it answers, else from the spool.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::time::{Duration, Instant};

use bson::{Bson, Document, doc};
use futures_util::TryStreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use panoptic::query::{CostQuery, GroupBy};
use panoptic::{
    BillingEvent, Panoptic, Spool,
    config::{redact_secrets, redact_uri},
    naming::DATABASE_PREFIX,
};

use crate::args::{Export, ExportFormat, Filters, Global, Replay, Report};
use crate::{html, output};

/// A client that answered a ping, or `None` (and a note on stderr) when the
/// spool is to be read instead.
async fn connect(global: &Global) -> Option<mongodb::Client> {
    if global.spool {
        return None;
    }
    match ping(global).await {
        Ok(client) => Some(client),
        Err(reason) => {
            eprintln!(
                "panoptic: MongoDB at {} did not answer ({}); reading the spool at {}",
                redact_uri(&global.mongodb_uri),
                redact_secrets(&global.mongodb_uri, &reason),
                global.spool_dir.display()
            );
            None
        }
    }
}

pub(crate) async fn ping(global: &Global) -> Result<mongodb::Client, String> {
    ping_as(global, "panoptic-cli").await
}

/// A client named `app_name` in the server's logs, once the server answered
/// a ping within `--timeout`.
pub(crate) async fn ping_as(global: &Global, app_name: &str) -> Result<mongodb::Client, String> {
    let mut options = mongodb::options::ClientOptions::parse(&global.mongodb_uri)
        .await
        .map_err(|e| format!("invalid URI: {e}"))?;
    let timeout = Duration::from_secs(global.timeout.max(1));
    options.server_selection_timeout = Some(timeout);
    options.connect_timeout = Some(timeout);
    options.app_name = Some(app_name.into());
    let client = mongodb::Client::with_options(options).map_err(|e| e.to_string())?;
    client
        .database("admin")
        .run_command(doc! { "ping": 1 })
        .await
        .map_err(|e| e.to_string().lines().next().unwrap_or_default().to_owned())?;
    Ok(client)
}

fn query(filters: &Filters) -> CostQuery {
    let mut query = CostQuery::new().since(filters.since);
    if let Some(until) = filters.until {
        query = query.until(until);
    }
    if let Some(env) = &filters.env {
        query = query.env(env);
    }
    if let Some(provider) = &filters.provider {
        query = query.provider(provider);
    }
    if let Some(user) = &filters.user {
        query = query.username(user);
    }
    if let Some(service) = &filters.service {
        query = query.service(service);
    }
    if let Some(resource) = &filters.resource {
        query = query.resource(resource);
    }
    query
}

pub async fn report(global: &Global, report: &Report) -> Result<(), String> {
    let filtered = query(&report.filters);
    let client = connect(global).await;
    let source = match &client {
        Some(_) => format!("MongoDB {}", redact_uri(&global.mongodb_uri)),
        None => format!("spool {}", global.spool_dir.display()),
    };
    eprintln!("panoptic: source {source}");
    let run = |query: CostQuery| {
        let client = client.clone();
        async move {
            match client {
                Some(client) => query.run(&client).await.map_err(|e| e.to_string()),
                None => query
                    .run_on_spool(&Spool::open(&global.spool_dir))
                    .map_err(|e| format!("cannot read the spool: {e}")),
            }
        }
    };
    let rows = run(filtered.clone().group_by(report.by.iter().copied())).await?;
    let forecasts = match report.forecast {
        Some(period) => {
            let at = report.filters.until.unwrap_or_else(chrono::Utc::now);
            let key = panoptic::budget::PeriodKey::utc(period.into(), at);
            // The period's days so far, per row: the time dimensions of
            // the report are left out (a row's forecast is its group's).
            let dims: Vec<(usize, GroupBy)> = report
                .by
                .iter()
                .copied()
                .enumerate()
                .filter(|(_, g)| !matches!(g, GroupBy::Day | GroupBy::Hour))
                .collect();
            let series = run(query(&report.filters)
                .since(key.start)
                .until(at)
                .group_by(dims.iter().map(|(_, g)| *g).chain([GroupBy::Day])))
            .await?;
            let projected: Vec<panoptic::Decimal> = rows
                .iter()
                .map(|row| {
                    let wanted: Vec<&String> = dims.iter().map(|(i, _)| &row.key[*i]).collect();
                    project(&key, &series, &wanted)
                })
                .collect();
            let total: panoptic::Decimal = project(&key, &series, &[]);
            eprintln!(
                "panoptic: forecast for {} (UTC) as of {}: {} in all; method: spend so far \
                 plus the mean daily spend of the period's complete days for each day left",
                key.name,
                at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                total.round_dp(6).normalize()
            );
            Some(projected)
        }
        None => None,
    };
    let stdout = io::stdout();
    output::report(
        &rows,
        &report.by,
        forecasts.as_deref(),
        report.format,
        &mut stdout.lock(),
    )
    .map_err(|e| e.to_string())?;
    let open = match &client {
        Some(client) => panoptic::open_calls::open_calls(client, &filtered)
            .await
            .map_err(|e| e.to_string())?,
        None => {
            let events: Vec<BillingEvent> = Spool::open(&global.spool_dir)
                .events()
                .map_err(|e| format!("cannot read the spool: {e}"))?
                .iter()
                .filter_map(|e| BillingEvent::try_from(e).ok())
                .collect();
            panoptic::open_calls::open_calls_in(&filtered, &events)
        }
    };
    if !open.is_empty() {
        // Beside the spend, not in it: these calls may still be billed.
        let estimated: panoptic::Decimal = open.iter().filter_map(|c| c.estimate).sum();
        eprintln!(
            "panoptic: {} open call(s) (started, never ended), estimated {}:",
            open.len(),
            estimated.normalize()
        );
        for call in &open {
            eprintln!(
                "panoptic:   {} {}/{} started {} call_id {} estimate {}",
                call.resource,
                call.provider,
                call.service,
                call.started
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                call.call_id,
                call.estimate
                    .map_or_else(|| "-".to_owned(), |e| e.normalize().to_string())
            );
        }
    }
    if let Some(path) = &report.html {
        let by_day = run(filtered.clone().group_by([GroupBy::Day, GroupBy::Service])).await?;
        let by_resource = run(filtered.group_by([GroupBy::Resource, GroupBy::Service])).await?;
        let title = format!("panoptic cost report ({source})");
        std::fs::write(path, html::page(&title, &by_day, &by_resource))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        eprintln!("panoptic: wrote {}", path.display());
    }
    Ok(())
}

/// The end-of-period projection of the groups whose key starts with
/// `wanted` (all of `series` for none), by budget/forecast.rs's method:
/// `series` is grouped by the wanted dimensions, then day.
fn project(
    key: &panoptic::budget::PeriodKey,
    series: &[panoptic::query::CostRow],
    wanted: &[&String],
) -> panoptic::Decimal {
    let days = key.days_elapsed() as usize;
    let mut daily = vec![panoptic::Decimal::ZERO; days];
    for row in series {
        let (group, day) = row.key.split_at(row.key.len() - 1);
        if group.iter().zip(wanted).any(|(have, want)| have != *want) {
            continue;
        }
        let Ok(day) = chrono::NaiveDate::parse_from_str(&day[0], "%Y-%m-%d") else {
            continue;
        };
        let index = (day - key.first_day).num_days();
        if let Some(slot) = usize::try_from(index).ok().and_then(|i| daily.get_mut(i)) {
            *slot += row.amount;
        }
    }
    // No limit here: only the projection is shown.
    panoptic::budget::forecast(key.first_day, &daily, key.days(), panoptic::Decimal::MAX)
        .end_of_period
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
    output::csv_line(&[
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

fn write_event(
    out: &mut dyn Write,
    format: ExportFormat,
    document: &Document,
) -> Result<(), String> {
    let line = match format {
        ExportFormat::Jsonl => {
            serde_json::to_string(&Bson::Document(document.clone()).into_relaxed_extjson())
                .map_err(|e| e.to_string())?
        }
        ExportFormat::Csv => {
            csv_row(&BillingEvent::from_document(document).map_err(|e| e.to_string())?)
        }
    };
    writeln!(out, "{line}").map_err(|e| format!("cannot write: {e}"))
}

pub async fn export(global: &Global, export: &Export) -> Result<(), String> {
    let query = query(&export.filters);
    let mut out: Box<dyn Write> = match &export.output {
        Some(path) => Box::new(BufWriter::new(
            File::create(path).map_err(|e| format!("cannot create {}: {e}", path.display()))?,
        )),
        None => Box::new(BufWriter::new(io::stdout().lock())),
    };
    if matches!(export.format, ExportFormat::Csv) {
        writeln!(out, "{}", CSV_COLUMNS.join(",")).map_err(|e| e.to_string())?;
    }
    // Hidden unless stderr is a terminal.
    let progress = ProgressBar::new_spinner();
    progress.set_style(
        ProgressStyle::with_template("{spinner} {pos} events exported ({per_sec})")
            .map_err(|e| e.to_string())?,
    );
    match connect(global).await {
        Some(client) => {
            let filter = query.filter();
            let databases = client
                .list_database_names()
                .await
                .map_err(|e| e.to_string())?;
            for name in databases.iter().filter(|n| n.starts_with(DATABASE_PREFIX)) {
                let database = client.database(name);
                for collection in database
                    .list_collection_names()
                    .await
                    .map_err(|e| e.to_string())?
                {
                    let mut cursor = database
                        .collection::<Document>(&collection)
                        .find(filter.clone())
                        .await
                        .map_err(|e| e.to_string())?;
                    while let Some(document) = cursor.try_next().await.map_err(|e| e.to_string())? {
                        write_event(&mut out, export.format, &document)?;
                        progress.inc(1);
                    }
                }
            }
        }
        None => {
            let events = Spool::open(&global.spool_dir)
                .events()
                .map_err(|e| format!("cannot read the spool: {e}"))?;
            for spooled in events {
                if BillingEvent::try_from(&spooled).is_ok_and(|e| query.matches(&e)) {
                    let document = spooled.to_document().map_err(|e| e.to_string())?;
                    write_event(&mut out, export.format, &document)?;
                    progress.inc(1);
                }
            }
        }
    }
    progress.finish_and_clear();
    out.flush().map_err(|e| format!("cannot write: {e}"))?;
    eprintln!("panoptic: exported {} event(s)", progress.position());
    Ok(())
}

pub async fn replay(global: &Global, replay: &Replay) -> Result<(), String> {
    let spool = Spool::open(&global.spool_dir);
    if replay.retry_set_aside {
        let restored = spool
            .restore_set_aside()
            .map_err(|e| format!("cannot restore set-aside segments: {e}"))?;
        eprintln!("panoptic: {restored} set-aside segment(s) put back for replay");
    }
    let waiting = spool.summary().map_err(|e| e.to_string())?.events as u64;
    if waiting == 0 {
        eprintln!(
            "panoptic: the spool at {} is empty",
            global.spool_dir.display()
        );
        return Ok(());
    }
    ping(global).await.map_err(|e| {
        format!(
            "MongoDB at {} did not answer: {e}",
            redact_uri(&global.mongodb_uri)
        )
    })?;
    // A handle on the same spool replays it as soon as it starts.
    let panoptic = Panoptic::builder()
        .username("panoptic-cli")
        .mongodb_uri(&global.mongodb_uri)
        .spool_dir(&global.spool_dir)
        .server_timeout(Duration::from_secs(global.timeout.max(1)))
        .build()
        .map_err(|e| e.to_string())?;
    let progress = ProgressBar::new(waiting);
    progress.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} events delivered ({eta})")
            .map_err(|e| e.to_string())?,
    );
    let deadline = Instant::now() + Duration::from_secs(replay.deadline);
    loop {
        let stats = panoptic.stats();
        progress.set_position(stats.replayed.min(waiting));
        let left = spool.summary().map_err(|e| e.to_string())?.events;
        if left == 0 {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!(
                "deadline passed with {left} event(s) still in the spool{}",
                stats
                    .last_error
                    .map(|e| format!(" (last error: {e})"))
                    .unwrap_or_default()
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    progress.finish_and_clear();
    let stats = panoptic.stats();
    eprintln!(
        "panoptic: delivered {} event(s) ({} new, {} already in MongoDB)",
        stats.replayed,
        stats.replayed - stats.duplicates.min(stats.replayed),
        stats.duplicates
    );
    Ok(())
}

pub async fn stats(global: &Global) -> Result<(), String> {
    let spool = Spool::open(&global.spool_dir);
    let summary = spool
        .summary()
        .map_err(|e| format!("cannot read the spool: {e}"))?;
    println!("spool      {}", global.spool_dir.display());
    println!("segments   {}", summary.segments);
    println!("events     {}", summary.events);
    println!("bytes      {}", summary.bytes);
    let mut routes = std::collections::BTreeMap::<String, usize>::new();
    for event in spool.events().map_err(|e| e.to_string())? {
        *routes
            .entry(format!("{}.{}", event.database, event.collection))
            .or_default() += 1;
    }
    for (route, count) in routes {
        println!("  {route:<50} {count:>8} pending");
    }
    let aside = spool
        .set_aside()
        .map_err(|e| format!("cannot read the spool: {e}"))?;
    println!("set aside  {}", aside.len());
    for (path, reason) in &aside {
        println!("  {}  {reason}", path.display());
    }
    let letters = spool
        .dead_letters()
        .map_err(|e| format!("cannot read the spool: {e}"))?;
    println!("dead letters {}", letters.len());
    for letter in &letters {
        println!(
            "  {}  {}.{}  {}",
            letter.path.display(),
            letter.database,
            letter.collection,
            letter.reason
        );
    }
    Ok(())
}

pub async fn indexes(global: &Global) -> Result<(), String> {
    let client = ping(global).await.map_err(|e| {
        format!(
            "MongoDB at {} did not answer: {e}",
            redact_uri(&global.mongodb_uri)
        )
    })?;
    let databases = client
        .list_database_names()
        .await
        .map_err(|e| e.to_string())?;
    let mut checked = 0;
    for name in databases.iter().filter(|n| n.starts_with(DATABASE_PREFIX)) {
        let database = client.database(name);
        for collection_name in database
            .list_collection_names()
            .await
            .map_err(|e| e.to_string())?
        {
            let collection = database.collection::<Document>(&collection_name);
            collection
                .create_indexes(panoptic::index_models())
                .await
                .map_err(|e| format!("{name}.{collection_name}: {e}"))?;
            let present: Vec<Document> = collection
                .list_indexes()
                .await
                .map_err(|e| e.to_string())?
                .try_collect::<Vec<_>>()
                .await
                .map_err(|e| e.to_string())?
                .into_iter()
                .map(|index| index.keys)
                .collect();
            let missing = panoptic::index_keys()
                .into_iter()
                .filter(|keys| !present.contains(keys))
                .count();
            if missing > 0 {
                return Err(format!(
                    "{name}.{collection_name}: {missing} index(es) still missing"
                ));
            }
            println!("{name}.{collection_name}: ok ({} indexes)", present.len());
            checked += 1;
        }
    }
    eprintln!("panoptic: {checked} collection(s) checked");
    Ok(())
}
