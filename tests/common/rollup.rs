//! Events of every kind written as the writer writes them (windows
//! marked), and report rows as tests compare them.

use std::collections::{BTreeMap, BTreeSet};

use bson::Document;
use chrono::{DateTime, Duration as Span, Utc};
use panoptic::naming::{collection_name, database_name};
use panoptic::query::CostRow;
use panoptic::rollup_marks;
use panoptic::{BillingEvent, Category, Decimal, Kind, Metadata, Outcome};

pub const USERS: [&str; 3] = ["alice", "bob", "Carol Q"];
pub const SERVICES: [&str; 3] = ["BigQuery", "ChatCompletions", "S3"];

/// One random event's facts.
#[derive(Debug, Clone)]
pub struct Seed {
    pub minutes_ago: i64,
    pub user: usize,
    pub provider: usize,
    pub service: usize,
    pub resource: usize,
    pub kind: usize,
    pub outcome: bool,
    pub amount: Option<i64>,
    pub euro: bool,
    pub duration: Option<u32>,
    pub end_user: Option<usize>,
    pub tags: usize,
}

pub fn event(seed: &Seed, env: &str, now: DateTime<Utc>) -> BillingEvent {
    // Mostly ordinary calls; an adjustment, a start record, an alert now and then.
    let (kind, start, alert) = match seed.kind {
        0 => (Kind::Adjustment, false, false),
        1 => (Kind::Billing, true, false),
        2 => (Kind::Billing, false, true),
        3..=5 => (Kind::Billing, false, false),
        _ => (Kind::Invoice, false, false),
    };
    let mut extra = Document::new();
    if start {
        extra.insert("start", true);
        extra.insert("call_id", bson::oid::ObjectId::new().to_hex());
    }
    if alert {
        extra.insert("alert", true);
    }
    if seed.amount.is_none() {
        extra.insert("unpriced", "no price");
    }
    let tags = [vec![], vec!["beta"], vec!["beta", "eu"], vec!["eu"]][seed.tags]
        .iter()
        .map(|t| t.to_string())
        .collect();
    BillingEvent {
        id: bson::oid::ObjectId::new(),
        ts: now - Span::minutes(seed.minutes_ago) - Span::milliseconds(seed.minutes_ago % 997),
        project_id: None,
        env: env.into(),
        username: USERS[seed.user].into(),
        category: Category::Infra,
        provider: ["gcp", "openai"][seed.provider].into(),
        service: SERVICES[seed.service].into(),
        resource: format!("fn_{}", seed.resource),
        kind,
        outcome: if seed.outcome {
            Outcome::Ok
        } else {
            Outcome::Error
        },
        quantity: f64::from(seed.tags as u32) + 0.5,
        unit: "call".into(),
        amount: seed.amount.map(|a| Decimal::new(a, 6)),
        currency: if seed.euro { "EUR" } else { "USD" }.into(),
        metadata: Metadata {
            duration_ms: seed.duration.map(|d| f64::from(d) / 100.0),
            user: seed.end_user.map(|u| format!("customer-{u}")),
            tags,
            extra,
            ..Metadata::default()
        },
    }
}

/// Inserts events as the writer does: windows marked before, and again
/// after when their hour may be rolled up already.
pub async fn write(client: &mongodb::Client, events: &[BillingEvent]) {
    let mut by_collection: BTreeMap<(String, String), Vec<Document>> = Default::default();
    for e in events {
        by_collection
            .entry((
                database_name(&e.env),
                collection_name(&e.provider, &e.username),
            ))
            .or_default()
            .push(e.to_document());
    }
    for ((database, collection), documents) in by_collection {
        let hours: BTreeSet<i64> = documents
            .iter()
            .map(|d| rollup_marks::hour_of(d.get_datetime("ts").unwrap().timestamp_millis()))
            .collect();
        rollup_marks::mark(client, &database, &collection, &hours)
            .await
            .unwrap();
        client
            .database(&database)
            .collection::<Document>(&collection)
            .insert_many(documents)
            .await
            .unwrap();
        rollup_marks::mark(client, &database, &collection, &hours)
            .await
            .unwrap();
    }
}

/// Rows as compared: everything a report shows, histograms included.
pub fn shown(rows: &[CostRow]) -> Vec<String> {
    let mut shown: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{:?} {} {} {} u{} q{:.3} n{} e{} {:?}",
                r.key,
                r.currency,
                r.amount.normalize(),
                r.adjusted.normalize(),
                r.unpriced,
                r.quantity,
                r.count,
                r.errors,
                r.durations
            )
        })
        .collect();
    shown.sort();
    shown
}
