use bson::doc;
use chrono::{Duration, TimeZone, Utc};
use panoptic_core::{BillingEvent, Category, Kind, Metadata, Outcome, Spool};
use panoptic_spool::{SpoolOptions, SpoolWriter};

use super::{OpenCallScan, open_calls_on_spool};
use crate::open_calls::{OpenCall, open_calls_in};
use crate::query::CostQuery;

/// The start record (or the final event) of call `n` of `service`.
fn call(n: u32, service: &str, start: bool, minute: i64) -> BillingEvent {
    let mut extra = doc! { "call_id": format!("call-{n}") };
    if start {
        extra.insert("start", true);
    }
    BillingEvent {
        id: bson::oid::ObjectId::new(),
        ts: Utc.with_ymd_and_hms(2026, 12, 6, 0, 0, 0).unwrap() + Duration::minutes(minute),
        project_id: None,
        env: "dev".into(),
        username: "u".into(),
        category: Category::Infra,
        provider: "user_defined".into(),
        service: service.into(),
        resource: "step".into(),
        kind: if start { Kind::Billing } else { Kind::Invoice },
        outcome: Outcome::Ok,
        quantity: 1.0,
        unit: "call".into(),
        amount: (!start).then(|| rust_decimal::Decimal::new(1, 2)),
        currency: "USD".into(),
        metadata: Metadata {
            extra,
            ..Metadata::default()
        },
    }
}

/// Calls of two services: most ended, some never, one final read before
/// its start, a start record written twice, and starts sharing a time.
fn calls() -> Vec<BillingEvent> {
    let mut events = Vec::new();
    for n in 0..300u32 {
        let service = if n.is_multiple_of(4) { "Other" } else { "Work" };
        let minute = i64::from(n / 3);
        if n % 50 == 7 {
            events.push(call(n, service, false, minute + 1));
            events.push(call(n, service, true, minute));
            continue;
        }
        events.push(call(n, service, true, minute));
        if n % 30 == 13 {
            events.push(call(n, service, true, minute));
        }
        if n % 6 != 1 {
            events.push(call(n, service, false, minute + 1));
        }
    }
    events
}

fn queries() -> Vec<CostQuery> {
    let at =
        |minute| Utc.with_ymd_and_hms(2026, 12, 6, 0, 0, 0).unwrap() + Duration::minutes(minute);
    vec![
        CostQuery::new(),
        CostQuery::new().service("Work"),
        CostQuery::new().since(at(20)).until(at(70)),
    ]
}

fn ids(calls: &[OpenCall]) -> Vec<&str> {
    calls.iter().map(|c| c.call_id.as_str()).collect()
}

#[test]
fn one_event_at_a_time_finds_what_open_calls_in_finds() {
    let events = calls();
    for query in queries() {
        let mut scan = OpenCallScan::new(&query);
        for event in &events {
            scan.add(event);
        }
        let expected = open_calls_in(&query, &events);
        assert!(expected.len() > 5, "{query:?}: {}", expected.len());
        assert!(!ids(&expected).contains(&"call-7"), "its final came first");
        assert_eq!(scan.finish(), expected, "{query:?}");
    }
    let twice = open_calls_in(&CostQuery::new(), &events);
    let twice: Vec<&str> = ids(&twice)
        .into_iter()
        .filter(|id| *id == "call-13")
        .collect();
    assert_eq!(twice.len(), 2, "a start written twice is listed twice");
}

#[test]
fn the_spool_read_as_a_stream_gives_the_open_calls_of_its_events() {
    let dir = tempfile::tempdir().unwrap();
    let events = calls();
    let options = SpoolOptions {
        segment_bytes: 8_192,
        ..SpoolOptions::default()
    };
    let mut writer = SpoolWriter::with_options(dir.path().to_owned(), options);
    for event in &events {
        writer
            .append(
                "panoptic-dev",
                "user_defined_u",
                &[event.to_document()],
                false,
            )
            .unwrap();
        writer.seal_if_full().unwrap();
    }
    writer.seal().unwrap();
    let spool = Spool::open(dir.path());
    for query in queries() {
        assert_eq!(
            open_calls_on_spool(&query, &spool).unwrap(),
            open_calls_in(&query, &events),
            "{query:?}"
        );
    }
}
