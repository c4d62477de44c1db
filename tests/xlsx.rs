//! `panoptic export --format xlsx` and `panoptic report --xlsx FILE`, read
//! back with calamine: sheet names, the header, numbers that are numbers,
//! dates that are dates, and totals equal to `panoptic report`'s.

mod common;

use std::path::Path;

use calamine::{Data, Reader, Xlsx, open_workbook};
use chrono::{DateTime, NaiveDate, Utc};
use common::cli::{run, succeed};
use common::finance::{self, ADJUSTMENT_AMOUNT, dec};
use panoptic::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::Value;

const RANGE: [&str; 4] = ["--since", "2026-12-01", "--until", "2026-12-08"];

/// The columns of an event, as `export --format csv` has them.
const EVENT_HEADER: [&str; 17] = [
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

/// Excel's serial number of a UTC time: days since 1899-12-30.
fn serial(time: DateTime<Utc>) -> f64 {
    time.timestamp_millis() as f64 / 86_400_000.0 + 25_569.0
}

fn sheet(path: &Path, name: &str) -> Vec<Vec<Data>> {
    let mut workbook: Xlsx<_> = open_workbook(path).unwrap();
    let range = workbook.worksheet_range(name).unwrap();
    // calamine starts the range at the first used cell: row 0 is there.
    assert_eq!(range.start(), Some((0, 0)));
    range.rows().map(<[Data]>::to_vec).collect()
}

fn text(cell: &Data) -> &str {
    match cell {
        Data::String(s) => s,
        other => panic!("not text: {other:?}"),
    }
}

fn number(cell: &Data) -> f64 {
    match cell {
        Data::Float(f) => *f,
        Data::Int(i) => *i as f64,
        other => panic!("not a number: {other:?}"),
    }
}

fn date(cell: &Data) -> f64 {
    match cell {
        Data::DateTime(d) => d.as_f64(),
        other => panic!("not a date: {other:?}"),
    }
}

fn float(amount: Decimal) -> f64 {
    amount.to_f64().unwrap()
}

/// `report --format json`'s totals: currency → (amount, adjusted, unpriced).
fn report_totals(env: &str, uri: &str, spool: &Path) -> Vec<(String, Value)> {
    let mut args = vec![
        "report", "--env", env, "--by", "service", "--format", "json",
    ];
    args.extend(RANGE);
    let json: Value = serde_json::from_str(&succeed(run(&args, uri, spool))).unwrap();
    json["totals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["currency"].as_str().unwrap().to_owned(), t.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_xlsx_a_sheet_per_currency_with_typed_cells() {
    let ledger = finance::seed("xlsx_export", "2026-12-05T12:00:00Z".parse().unwrap()).await;
    let uri = common::mongodb_uri();
    let dir = common::temp_dir("xlsx-export");
    let spool = dir.join("spool");
    let file = dir.join("events.xlsx");
    let mut args = vec!["export", "--format", "xlsx", "--env", &ledger.env];
    args.extend(RANGE);
    let path = file.to_str().unwrap().to_owned();
    args.extend(["--output", &path]);
    succeed(run(&args, &uri, &spool));

    let workbook: Xlsx<_> = open_workbook(&file).unwrap();
    let mut names = workbook.sheet_names();
    names.sort();
    assert_eq!(names, ["EUR", "USD"]);

    let usd = sheet(&file, "USD");
    let header: Vec<&str> = usd[0].iter().map(text).collect();
    assert_eq!(header, EVENT_HEADER);
    let column = |name: &str| EVENT_HEADER.iter().position(|h| *h == name).unwrap();
    let row_of = |rows: &[Vec<Data>], event: &panoptic::BillingEvent| -> Vec<Data> {
        let id = event.id.to_hex();
        rows.iter()
            .find(|r| matches!(&r[0], Data::String(s) if *s == id))
            .unwrap_or_else(|| panic!("no row for {id}"))
            .clone()
    };

    // Money is a number, the time a date (to the millisecond), the
    // duration the measured number.
    let chat = row_of(&usd, &ledger.chat);
    assert_eq!(
        number(&chat[column("amount")]),
        float(ledger.chat.amount.unwrap())
    );
    assert!((date(&chat[column("ts")]) - serial(ledger.chat.ts)).abs() < 1e-9);
    assert_eq!(number(&chat[column("quantity")]), 1.0);
    assert_eq!(number(&chat[column("duration_ms")]), 0.003796);
    assert_eq!(text(&chat[column("resource")]), "ask_model");
    let bigquery = row_of(&usd, &ledger.bigquery);
    assert_eq!(number(&bigquery[column("amount")]), 12.5);
    assert_eq!(number(&bigquery[column("quantity")]), 2199023255552.0);
    // Unpriced: no amount at all, the reason as text.
    let unpriced = row_of(&usd, &ledger.unpriced);
    assert_eq!(unpriced[column("amount")], Data::Empty);
    assert_eq!(
        text(&unpriced[column("unpriced")]),
        "no amount given, and the return value reports no usage"
    );
    let eur = sheet(&file, "EUR");
    let geocode = row_of(&eur, &ledger.geocode);
    assert_eq!(number(&geocode[column("amount")]), 0.004);

    // Totals under each sheet equal `panoptic report`'s.
    let totals = report_totals(&ledger.env, &uri, &spool);
    for (currency, rows) in [("USD", &usd), ("EUR", &eur)] {
        let total = rows
            .iter()
            .find(|r| matches!(&r[0], Data::String(s) if s.starts_with("total")))
            .unwrap();
        let report = &totals.iter().find(|(c, _)| c == currency).unwrap().1;
        let amount = dec(report["amount"].as_str().unwrap());
        assert_eq!(
            number(&total[column("amount")]),
            float(amount),
            "{currency}"
        );
        assert_eq!(
            number(&total[column("unpriced")]),
            report["unpriced"].as_u64().unwrap() as f64
        );
    }
    // Worked out from the seed: USD priced calls, adjustments apart.
    let usd_report = &totals.iter().find(|(c, _)| c == "USD").unwrap().1;
    assert_eq!(
        dec(usd_report["amount"].as_str().unwrap()),
        dec("0.00036") + dec("12.5") + dec("1.5")
    );
    let adjusted = usd
        .iter()
        .find(|r| matches!(&r[0], Data::String(s) if s.starts_with("adjusted")))
        .unwrap();
    assert_eq!(
        number(&adjusted[column("amount")]),
        float(dec(ADJUSTMENT_AMOUNT))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_xlsx_rows_totals_and_dates() {
    let ledger = finance::seed("xlsx_report", "2026-12-05T12:00:00Z".parse().unwrap()).await;
    let uri = common::mongodb_uri();
    let dir = common::temp_dir("xlsx-report");
    let spool = dir.join("spool");

    let file = dir.join("by-service.xlsx");
    let path = file.to_str().unwrap().to_owned();
    let mut args = vec![
        "report",
        "--env",
        &ledger.env,
        "--by",
        "service",
        "--xlsx",
        &path,
    ];
    args.extend(RANGE);
    succeed(run(&args, &uri, &spool));
    let workbook: Xlsx<_> = open_workbook(&file).unwrap();
    assert_eq!(workbook.sheet_names(), ["by service"]);
    let rows = sheet(&file, "by service");
    // The totals' note stands past the last column: the header ends before.
    let header: Vec<&str> = rows[0]
        .iter()
        .take_while(|cell| **cell != Data::Empty)
        .map(text)
        .collect();
    assert!(rows[0][header.len()..].iter().all(|c| *c == Data::Empty));
    assert_eq!(
        header,
        [
            "service", "currency", "amount", "adjusted", "unpriced", "quantity", "count", "errors",
            "p50_ms", "p95_ms"
        ]
    );
    let chat = rows
        .iter()
        .find(|r| matches!(&r[0], Data::String(s) if s == "ChatCompletions"))
        .unwrap();
    assert_eq!(text(&chat[1]), "USD");
    assert_eq!(number(&chat[2]), float(ledger.chat.amount.unwrap()));
    assert_eq!(number(&chat[6]), 1.0);
    // S3's one call was unpriced: no amount, never 0.
    let s3 = rows
        .iter()
        .find(|r| matches!(&r[0], Data::String(s) if s == "S3"))
        .unwrap();
    assert_eq!(s3[2], Data::Empty);
    assert_eq!(number(&s3[4]), 1.0);

    // The totals equal the report's, one per currency.
    let totals = report_totals(&ledger.env, &uri, &spool);
    let sheet_totals: Vec<&Vec<Data>> = rows
        .iter()
        .filter(|r| matches!(&r[0], Data::String(s) if s == "total"))
        .collect();
    assert_eq!(sheet_totals.len(), totals.len());
    for total in sheet_totals {
        let currency = text(&total[1]);
        let report = &totals.iter().find(|(c, _)| c == currency).unwrap().1;
        assert_eq!(
            number(&total[2]),
            float(dec(report["amount"].as_str().unwrap()))
        );
        assert_eq!(
            number(&total[3]),
            float(dec(report["adjusted"].as_str().unwrap()))
        );
        assert_eq!(
            number(&total[4]),
            report["unpriced"].as_u64().unwrap() as f64
        );
    }

    // By day: the day is a date.
    let file = dir.join("by-day.xlsx");
    let path = file.to_str().unwrap().to_owned();
    let mut args = vec![
        "report",
        "--env",
        &ledger.env,
        "--by",
        "day,service",
        "--xlsx",
        &path,
    ];
    args.extend(RANGE);
    succeed(run(&args, &uri, &spool));
    let rows = sheet(&file, "by day, service");
    let geocode = rows
        .iter()
        .find(|r| matches!(&r[1], Data::String(s) if s == "Geocoding"))
        .unwrap();
    let day = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
    assert_eq!(
        date(&geocode[0]),
        serial(day.and_hms_opt(0, 0, 0).unwrap().and_utc())
    );
    assert_eq!(text(&geocode[2]), "EUR");
    assert_eq!(number(&geocode[3]), 0.004);
}

/// Not a check: fills the spool at `XLSX_SCALE_SPOOL` with
/// `XLSX_SCALE_EVENTS` calls (two currencies, a hundred resources) through
/// the real writer, for `scripts/xlsx-scale`.
#[test]
#[ignore = "run by scripts/xlsx-scale"]
fn fill_spool_for_scale() {
    let spool = std::env::var("XLSX_SCALE_SPOOL").expect("XLSX_SCALE_SPOOL");
    let events: usize = std::env::var("XLSX_SCALE_EVENTS")
        .map_or(1_000, |n| n.parse().expect("a number of events"));
    let dead = format!("mongodb://127.0.0.1:{}/", common::free_port());
    let handle = panoptic::Panoptic::builder()
        .username("scale user")
        .env("scale")
        .mongodb_uri(dead)
        .spool_dir(&spool)
        .server_timeout(std::time::Duration::from_millis(200))
        .build()
        .unwrap();
    let log = handle.logger(panoptic::Provider::UserDefined, "Pricing");
    for i in 0..events {
        let resource = format!("quote_{}", i % 100);
        let currency = if i % 2 == 0 { "USD" } else { "EUR" };
        panoptic::invoice!(log, "quote"; "resource" => resource, "amount" => "0.0125",
            "currency" => currency, "user" => "someone");
    }
    assert!(handle.flush(), "flush timed out");
    println!("spooled {events} calls into {spool}");
}
