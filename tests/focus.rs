//! `panoptic export --format focus`: the seeded ledger (priced, unpriced,
//! an adjustment with a credit, two currencies, Google's Pacific month) as
//! FOCUS 1.2 CSV, read back with a CSV reader and checked column by
//! column against figures worked out here from what was seeded.

mod common;

use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use common::cli::{run, succeed};
use common::finance::{self, ADJUSTMENT_AMOUNT, ADJUSTMENT_CREDIT, dec};
use panoptic::Decimal;

/// FOCUS 1.2's Mandatory columns, as the specification lists them.
pub const MANDATORY: [&str; 21] = [
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "ContractedCost",
    "EffectiveCost",
    "InvoiceIssuerName",
    "ListCost",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "ServiceCategory",
    "ServiceName",
];

/// The Decimal columns among those written.
const DECIMALS: [&str; 9] = [
    "BilledCost",
    "ContractedCost",
    "EffectiveCost",
    "ListCost",
    "ListUnitPrice",
    "ContractedUnitPrice",
    "PricingQuantity",
    "ConsumedQuantity",
    "x_DurationMs",
];

/// The Date/Time columns.
const TIMES: [&str; 4] = [
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "ChargePeriodStart",
    "ChargePeriodEnd",
];

type Row = HashMap<String, String>;

fn read(path: &Path) -> (Vec<String>, Vec<Row>) {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let rows = reader
        .records()
        .map(|r| {
            let record = r.unwrap();
            assert_eq!(record.len(), header.len());
            header
                .iter()
                .cloned()
                .zip(record.iter().map(String::from))
                .collect()
        })
        .collect();
    (header, rows)
}

fn time(text: &str) -> DateTime<Utc> {
    assert!(text.ends_with('Z'), "UTC, with a Z: {text}");
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn of<'a>(rows: &'a [Row], event: &panoptic::BillingEvent) -> Vec<&'a Row> {
    let id = event.id.to_hex();
    rows.iter().filter(|r| r["x_EventId"] == id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ledger_in_focus_column_by_column() {
    let hostile_at = "2026-12-05T12:00:00Z".parse().unwrap();
    let ledger = finance::seed("focus", hostile_at).await;
    let uri = common::mongodb_uri();
    let dir = common::temp_dir("focus");
    let file = dir.join("focus.csv");
    let args = [
        "export",
        "--format",
        "focus",
        "--env",
        &ledger.env,
        "--since",
        "2026-12-01",
        "--until",
        "2026-12-08",
        "--output",
        file.to_str().unwrap(),
    ];
    succeed(run(&args, &uri, &dir.join("spool")));
    let (header, rows) = read(&file);

    // Every Mandatory column, each once; panoptic's own are `x_`.
    for name in MANDATORY {
        assert_eq!(header.iter().filter(|h| *h == name).count(), 1, "{name}");
    }
    for name in [
        "SkuId",
        "SkuPriceId",
        "Tags",
        "ListUnitPrice",
        "ChargeFrequency",
    ] {
        assert!(header.iter().any(|h| h == name), "{name}");
    }
    for name in header.iter().filter(|h| h.starts_with('x')) {
        assert!(name.starts_with("x_"), "{name}");
    }
    // Chat: 2 components; geocode, unpriced, BigQuery, hostile: 1 each;
    // the adjustment: a credit and the rest.
    assert_eq!(rows.len(), 8, "{rows:#?}");

    // Types and allowed values, on every row.
    for row in &rows {
        for name in DECIMALS {
            let cell = &row[name];
            assert!(
                cell.is_empty() || cell.parse::<Decimal>().is_ok(),
                "{name}: {cell}"
            );
        }
        for name in TIMES {
            time(&row[name]);
        }
        assert!(
            ["Usage", "Purchase", "Tax", "Credit", "Adjustment"]
                .contains(&row["ChargeCategory"].as_str()),
            "{row:?}"
        );
        assert!(["", "Correction"].contains(&row["ChargeClass"].as_str()));
        assert!(
            ["One-Time", "Recurring", "Usage-Based"].contains(&row["ChargeFrequency"].as_str())
        );
        assert!(
            ["", "Standard", "Dynamic", "Committed", "Other"]
                .contains(&row["PricingCategory"].as_str())
        );
        let currency = &row["BillingCurrency"];
        assert!(currency.len() == 3 && currency.chars().all(|c| c.is_ascii_uppercase()));
        assert!(!row["ChargeDescription"].is_empty());
        assert_eq!(row["BillingAccountId"], format!("panoptic-{}", ledger.env));
        assert!(time(&row["BillingPeriodStart"]) < time(&row["BillingPeriodEnd"]));
        assert!(time(&row["ChargePeriodStart"]) < time(&row["ChargePeriodEnd"]));
        if !row["Tags"].is_empty() {
            let tags: serde_json::Value = serde_json::from_str(&row["Tags"]).unwrap();
            assert!(tags.is_object(), "{tags}");
        }
        // Without a negotiated rate or an invoice, the four costs agree.
        for name in ["EffectiveCost", "ContractedCost", "ListCost"] {
            assert_eq!(row[name], row["BilledCost"], "{name} {row:?}");
        }
    }

    // The chat call: a row per component, each priced by the book.
    let chat = of(&rows, &ledger.chat);
    assert_eq!(chat.len(), 2);
    for (row, component) in chat.iter().zip(finance::chat_components()) {
        assert_eq!(row["x_PriceComponent"], component.name);
        assert_eq!(dec(&row["ListCost"]), component.amount());
        assert_eq!(dec(&row["ListUnitPrice"]), component.unit_price);
        assert_eq!(dec(&row["ContractedUnitPrice"]), component.unit_price);
        assert_eq!(
            dec(&row["PricingQuantity"]),
            component.quantity / component.per
        );
        assert_eq!(row["PricingUnit"], "1000000 tokens");
        // FOCUS: ListCost = ListUnitPrice × PricingQuantity.
        assert_eq!(
            dec(&row["ListUnitPrice"]) * dec(&row["PricingQuantity"]),
            dec(&row["ListCost"])
        );
        assert_eq!(dec(&row["ConsumedQuantity"]), component.quantity);
        assert_eq!(row["ConsumedUnit"], "tokens");
        assert_eq!(row["SkuId"], "openai/gpt-4o-mini");
        assert_eq!(
            row["SkuPriceId"],
            format!("openai/gpt-4o-mini/{}@2026-11-01", component.name)
        );
        assert_eq!(row["ChargeCategory"], "Usage");
        assert_eq!(row["ChargeClass"], "");
        assert_eq!(row["ChargeFrequency"], "Usage-Based");
        assert_eq!(row["PricingCategory"], "Standard");
        assert_eq!(row["ProviderName"], "OpenAI");
        assert_eq!(row["InvoiceIssuerName"], "OpenAI");
        assert_eq!(row["ServiceName"], "ChatCompletions");
        assert_eq!(row["ServiceCategory"], "AI and Machine Learning");
        assert_eq!(row["ChargePeriodStart"], "2026-12-03T10:00:00Z");
        assert_eq!(row["ChargePeriodEnd"], "2026-12-03T11:00:00Z");
        assert_eq!(row["BillingPeriodStart"], "2026-12-01T00:00:00Z");
        assert_eq!(row["BillingPeriodEnd"], "2027-01-01T00:00:00Z");
        assert_eq!(row["SubAccountId"], "proj-1");
        assert_eq!(row["x_User"], "alice");
        assert_eq!(row["x_Username"], "finance user");
        assert_eq!(row["x_CallId"], "call-1");
        assert_eq!(row["x_Function"], "ask_model");
        assert_eq!(row["x_Outcome"], "ok");
        // The float's noise (0.0037960000000000003) is not written.
        assert_eq!(row["x_DurationMs"], "0.003796");
        let tags: serde_json::Value = serde_json::from_str(&row["Tags"]).unwrap();
        assert_eq!(tags, serde_json::json!({"team": "data", "nightly": null}));
    }
    let chat_total: Decimal = chat.iter().map(|r| dec(&r["BilledCost"])).sum();
    assert_eq!(chat_total, ledger.chat.amount.unwrap());

    // BigQuery: billed by Google's Pacific month, which 03:00 UTC on
    // December 1st still belongs to.
    let [bigquery] = of(&rows, &ledger.bigquery)[..] else {
        panic!("one BigQuery row")
    };
    let tib = finance::bigquery_component();
    assert_eq!(bigquery["BillingPeriodStart"], "2026-11-01T07:00:00Z");
    assert_eq!(bigquery["BillingPeriodEnd"], "2026-12-01T08:00:00Z");
    assert_eq!(bigquery["ProviderName"], "Google Cloud");
    assert_eq!(bigquery["ServiceCategory"], "Analytics");
    assert_eq!(dec(&bigquery["PricingQuantity"]), dec("2"));
    assert_eq!(bigquery["PricingUnit"], "1099511627776 bytes");
    assert_eq!(dec(&bigquery["ListCost"]), tib.amount());
    assert_eq!(dec(&bigquery["ListCost"]), dec("12.5"));

    // The adjustment: its credit apart, the rest an Adjustment, for the
    // Pacific day it corrects; no quantity.
    let adjustment = of(&rows, &ledger.adjustment);
    assert_eq!(adjustment.len(), 2);
    let credit = adjustment
        .iter()
        .find(|r| r["ChargeCategory"] == "Credit")
        .unwrap();
    let correction = adjustment
        .iter()
        .find(|r| r["ChargeCategory"] == "Adjustment")
        .unwrap();
    assert_eq!(dec(&credit["BilledCost"]), dec(ADJUSTMENT_CREDIT));
    assert_eq!(
        dec(&correction["BilledCost"]),
        dec(ADJUSTMENT_AMOUNT) - dec(ADJUSTMENT_CREDIT)
    );
    for row in &adjustment {
        assert_eq!(row["ChargeFrequency"], "One-Time");
        assert_eq!(row["ChargeClass"], "");
        assert_eq!(row["ChargePeriodStart"], "2026-12-02T08:00:00Z");
        assert_eq!(row["ChargePeriodEnd"], "2026-12-03T08:00:00Z");
        assert_eq!(row["PricingQuantity"], "");
        assert_eq!(row["ConsumedQuantity"], "");
        assert_eq!(row["PricingCategory"], "");
        assert_eq!(row["x_Kind"], "adjustment");
    }

    // The unpriced call: empty costs, never 0, and the reason.
    let [unpriced] = of(&rows, &ledger.unpriced)[..] else {
        panic!("one unpriced row")
    };
    for name in [
        "BilledCost",
        "EffectiveCost",
        "ContractedCost",
        "ListCost",
        "ListUnitPrice",
    ] {
        assert_eq!(unpriced[name], "", "{name}");
    }
    assert_eq!(
        unpriced["x_Unpriced"],
        "no amount given, and the return value reports no usage"
    );
    assert_eq!(unpriced["ChargeCategory"], "Usage");
    assert_eq!(unpriced["PricingQuantity"], "1");
    assert_eq!(unpriced["PricingUnit"], "call");
    assert_eq!(unpriced["x_Outcome"], "error");
    assert_eq!(unpriced["x_Error"], "access denied");
    assert_eq!(unpriced["PricingCategory"], "");

    // Two currencies, each its own BillingCurrency; sums per currency as
    // seeded (the unpriced call adds nothing).
    let mut sums: HashMap<String, Decimal> = HashMap::new();
    for row in rows.iter().filter(|r| !r["BilledCost"].is_empty()) {
        *sums.entry(row["BillingCurrency"].clone()).or_default() += dec(&row["BilledCost"]);
    }
    let mut expected: HashMap<String, Decimal> = HashMap::new();
    for event in ledger.all() {
        if let Some(amount) = event.amount {
            *expected.entry(event.currency.clone()).or_default() += amount;
        }
    }
    assert_eq!(sums, expected);
    assert_eq!(expected["EUR"], dec("0.004"));
    assert_eq!(
        expected["USD"],
        dec("0.00036") + dec("12.5") + dec(ADJUSTMENT_AMOUNT) + dec("1.5")
    );

    // The plain CSV export writes the same numbers exactly.
    let csv_file = dir.join("events.csv");
    let args = [
        "export",
        "--format",
        "csv",
        "--env",
        &ledger.env,
        "--since",
        "2026-12-01",
        "--until",
        "2026-12-08",
        "--output",
        csv_file.to_str().unwrap(),
    ];
    succeed(run(&args, &uri, &dir.join("spool")));
    let (_, events) = read(&csv_file);
    let chat = events
        .iter()
        .find(|r| r["_id"] == ledger.chat.id.to_hex())
        .unwrap();
    assert_eq!(chat["duration_ms"], "0.003796");
    assert_eq!(dec(&chat["amount"]), ledger.chat.amount.unwrap());
}
