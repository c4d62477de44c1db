//! Reconciliation from code: panoptic's estimates (here, events in memory;
//! `Reconciliation::run` reads MongoDB) beside bill lines (here made by
//! hand; `panoptic::bills` reads them from OpenAI, GCP or AWS).
//!
//! `cargo run --example reconcile --features bills`

use chrono::{Days, Utc};
use panoptic::query::{CostQuery, GroupBy};
use panoptic::reconcile::{BillLine, Fallback, Reconciliation};
use panoptic::{BillingEvent, Category, Decimal, Kind, Metadata, Outcome};

fn call(resource: &str, amount: &str) -> BillingEvent {
    BillingEvent {
        id: bson::oid::ObjectId::new(),
        ts: Utc::now() - Days::new(5),
        project_id: None,
        env: "prod".into(),
        username: "ann".into(),
        category: Category::Infra,
        provider: "aws".into(),
        service: "S3".into(),
        resource: resource.into(),
        kind: Kind::Invoice,
        outcome: Outcome::Ok,
        quantity: 1.0,
        unit: "requests".into(),
        amount: Some(amount.parse().unwrap()),
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
    Ok(())
}
