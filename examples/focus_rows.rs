//! What a FinOps tool reads of panoptic's ledger: calls as FOCUS 1.2 rows,
//! made here from events in memory (`panoptic export --format focus`
//! writes the same rows from MongoDB or the spool). A call priced by the
//! book is a row per component, each with its list unit price; a call
//! nobody could price keeps its cost columns empty and says why.
//!
//! `cargo run --example focus_rows`

use chrono::Utc;
use panoptic::focus::{self, Col, Value};
use panoptic::{BillingEvent, Category, Decimal, Kind, Metadata, Outcome, Usage};

fn call(resource: &str, amount: Option<Decimal>, extra: bson::Document) -> BillingEvent {
    BillingEvent {
        id: bson::oid::ObjectId::new(),
        ts: Utc::now(),
        project_id: Some("my-project".into()),
        env: "prod".into(),
        username: "john_doe".into(),
        category: Category::Ai,
        provider: "openai".into(),
        service: "ChatCompletions".into(),
        resource: resource.into(),
        kind: Kind::Invoice,
        outcome: Outcome::Ok,
        quantity: 1.0,
        unit: "call".into(),
        amount,
        currency: "USD".into(),
        metadata: Metadata {
            extra,
            ..Metadata::default()
        },
    }
}

fn cell(value: &Value) -> String {
    match value {
        Value::Null => "(empty)".to_owned(),
        Value::Text(text) => text.clone(),
        Value::Decimal(d) => d.to_string(),
        Value::Time(t) => t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    }
}

fn main() -> Result<(), String> {
    // Priced by the shipped price book, as the writer prices a call.
    let usage = Usage::new("gpt-4o-mini")
        .with("input", Decimal::from(1200))
        .with("output", Decimal::from(300));
    let priced = panoptic::price_book()
        .price("openai", "ChatCompletions", &usage, Utc::now().date_naive())
        .map_err(|why| format!("the book cannot price it: {why}"))?;
    let priced_call = call(
        "ask_model",
        Some(priced.amount),
        bson::doc! { "price": panoptic::price_document(&priced), "priced_by": "price_book" },
    );
    let unpriced_call = call(
        "ask_model",
        None,
        bson::doc! { "unpriced": "`gpt-9-preview` is not in the openai price book" },
    );

    println!("FOCUS {}", focus::FOCUS_VERSION);
    let shown = [
        Col::ChargeCategory,
        Col::ListCost,
        Col::ListUnitPrice,
        Col::PricingQuantity,
        Col::PricingUnit,
        Col::SkuPriceId,
        Col::BillingPeriodStart,
        Col::XUnpriced,
    ];
    for event in [&priced_call, &unpriced_call] {
        for row in focus::rows(event) {
            println!();
            for col in shown {
                println!("  {:<20} {}", col.column().name, cell(row.get(col)));
            }
        }
    }
    Ok(())
}
