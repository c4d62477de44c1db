//! Reconciliation from code: panoptic's estimates (here, events in memory;
//! `Reconciliation::run` reads MongoDB) beside bill lines (here made by
//! hand; `panoptic::bills` reads them from OpenAI, GCP or AWS), then a
//! MongoDB Atlas cluster's fixed cost spread over the calls that used it.
//!
//! `cargo run --example reconcile --features bills`

use chrono::{Days, Utc};
use panoptic::query::{CostQuery, GroupBy};
use panoptic::reconcile::{BillLine, Fallback, FixedCost, Reconciliation, Share};
use panoptic::{BillingEvent, Category, Decimal, Kind, Metadata, Outcome};

fn call(resource: &str, amount: &str) -> BillingEvent {
    on("aws", "S3", resource, Some(amount.parse().unwrap()))
}

fn on(provider: &str, service: &str, resource: &str, amount: Option<Decimal>) -> BillingEvent {
    BillingEvent {
        id: bson::oid::ObjectId::new(),
        ts: Utc::now() - Days::new(5),
        project_id: None,
        env: "prod".into(),
        username: "ann".into(),
        category: Category::Infra,
        provider: provider.into(),
        service: service.into(),
        resource: resource.into(),
        kind: Kind::Invoice,
        outcome: Outcome::Ok,
        quantity: 1.0,
        unit: "requests".into(),
        amount,
        currency: "USD".into(),
        metadata: Metadata::default(),
    }
}

fn main() -> Result<(), String> {
    let day = (Utc::now() - Days::new(5)).date_naive();
    let events = [call("upload", "0.0100"), call("download", "0.0040")];
    let dollars = |text: &str| text.parse::<Decimal>().unwrap();
    let bill = [
        BillLine::new("aws", day, dollars("0.0100"), dollars("0.0100")).service("S3"),
        BillLine::new("aws", day, dollars("0.0060"), dollars("0.0060")).service("S3"),
    ];
    let recon = Reconciliation::new("aws", day, day + Days::new(1))
        .by([GroupBy::Service])?
        .tolerance(dollars("0.01"));
    let report = recon.run_on_events(&events, &CostQuery::new(), &bill);
    for row in &report.rows {
        println!(
            "{} estimate {} billed {} difference {} ratio {:?} flagged {}",
            row.key.join(" "),
            row.estimate,
            row.list,
            row.difference,
            row.ratio,
            row.flagged
        );
        for reason in &row.reasons {
            println!("  because: {reason}");
        }
    }
    let shares = recon.share_query(&CostQuery::new()).run_on_events(&events);
    for adjustment in recon.adjustments(&report, &shares, &Fallback::default()) {
        println!(
            "adjustment {} {} {}",
            adjustment.resource,
            adjustment.amount.unwrap_or_default(),
            adjustment.id
        );
    }

    // An M10 cluster for that day, at its list price, shared by its callers
    // in proportion to their calls.
    let atlas_calls = [
        on("mongodb_atlas", "Atlas", "find_orders", None),
        on("mongodb_atlas", "Atlas", "find_orders", None),
        on("mongodb_atlas", "Atlas", "update_stock", None),
    ];
    let atlas = Reconciliation::new("mongodb_atlas", day, day + Days::new(1));
    let from = atlas.day_start(day);
    let cluster =
        FixedCost::atlas_cluster("M10", from, from + Days::new(1)).map_err(|e| e.to_string())?;
    let shares = atlas
        .share_query(&CostQuery::new())
        .run_on_events(&atlas_calls);
    println!("{} for the day: {}", cluster.detail, cluster.amount);
    for part in atlas.spread(&cluster, &shares, Share::Calls, &Fallback::default()) {
        println!(
            "  {} pays {}",
            part.resource,
            part.amount.unwrap_or_default()
        );
    }
    Ok(())
}
