use std::collections::HashSet;
use std::fs::{self, OpenOptions};

use bson::doc;
use chrono::{Duration, TimeZone, Utc};
use panoptic_core::{BillingEvent, Kind, Outcome, Spool};
use panoptic_spool::{SpoolOptions, SpoolWriter, segments};

use crate::query::testing::event;
use crate::query::{CostQuery, GroupBy};

const DB: &str = "panoptic-dev";
const COLL: &str = "user_defined_u";

/// Event `i` of a mixed spool: three services, two currencies, unpriced
/// calls, failures, adjustments, start records and alerts (never summed),
/// over four days.
fn mixed(i: u32) -> BillingEvent {
    let service = ["Alpha", "Beta", "Gamma"][i as usize % 3];
    let amount = (!i.is_multiple_of(7)).then(|| format!("0.{:03}", i % 1000 + 1));
    let currency = if i.is_multiple_of(5) { "EUR" } else { "USD" };
    let mut event = event(
        service,
        amount.as_deref(),
        currency,
        f64::from(i % 97) * 1.7,
    );
    event.ts =
        Utc.with_ymd_and_hms(2026, 12, 3, 0, 0, 0).unwrap() + Duration::minutes(i64::from(i) * 37);
    event.resource = format!("r{}", i % 11);
    if i.is_multiple_of(13) {
        event.outcome = Outcome::Error;
    }
    if i.is_multiple_of(17) {
        event.kind = Kind::Adjustment;
    }
    if i.is_multiple_of(19) {
        event.metadata.extra.insert("start", true);
    }
    if i.is_multiple_of(23) {
        event.metadata.extra.insert("alert", true);
    }
    event
}

fn queries() -> Vec<CostQuery> {
    let day = |d| Utc.with_ymd_and_hms(2026, 12, d, 0, 0, 0).unwrap();
    vec![
        CostQuery::new(),
        CostQuery::new().group_by([GroupBy::Service]),
        CostQuery::new().group_by([GroupBy::Resource, GroupBy::Service]),
        CostQuery::new()
            .since(day(4))
            .until(day(6))
            .group_by([GroupBy::Day, GroupBy::Service]),
        CostQuery::new()
            .outcome(Outcome::Error)
            .time_zone(chrono_tz::America::Los_Angeles)
            .group_by([GroupBy::Hour]),
    ]
}

/// A spool of many segments with a corrupt record in one, a record that is
/// not a billing event, and a torn tail: grouped while read, it gives the
/// rows of the same surviving events grouped in memory.
#[test]
fn grouping_the_spool_as_it_is_read_equals_grouping_its_events_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let written: Vec<BillingEvent> = (0..400).map(mixed).collect();
    let options = SpoolOptions {
        segment_bytes: 4_096,
        ..SpoolOptions::default()
    };
    let mut writer = SpoolWriter::with_options(dir.path().to_owned(), options);
    for (i, event) in written.iter().enumerate() {
        writer
            .append(DB, COLL, &[event.to_document()], false)
            .unwrap();
        if i == 200 {
            // Intact, bound for a panoptic database, but not an event.
            writer
                .append(
                    DB,
                    COLL,
                    &[doc! { "_id": 1, "note": "not an event" }],
                    false,
                )
                .unwrap();
        }
        writer.seal_if_full().unwrap();
    }
    writer.seal().unwrap();
    let files = segments(dir.path()).unwrap();
    assert!(files.len() > 5, "{} segments", files.len());
    // One flipped bit in the middle of the second segment...
    let mut bytes = fs::read(&files[1]).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x04;
    fs::write(&files[1], bytes).unwrap();
    // ...and the last append cut short.
    let last = files.last().unwrap();
    let length = fs::metadata(last).unwrap().len();
    OpenOptions::new()
        .write(true)
        .open(last)
        .unwrap()
        .set_len(length - 5)
        .unwrap();

    let spool = Spool::open(dir.path());
    let survivors: HashSet<bson::oid::ObjectId> = spool
        .events()
        .unwrap()
        .iter()
        .filter_map(|spooled| BillingEvent::try_from(spooled).ok())
        .map(|event| event.id)
        .collect();
    assert_eq!(survivors.len(), written.len() - 2, "one record per damage");
    let in_memory: Vec<&BillingEvent> = written
        .iter()
        .filter(|event| survivors.contains(&event.id))
        .collect();
    for query in queries() {
        let expected = query.run_on_events(in_memory.iter().copied());
        assert!(!expected.is_empty(), "{query:?}");
        assert_eq!(query.run_on_spool(&spool).unwrap(), expected, "{query:?}");
    }
}
