use chrono::{Duration, TimeZone, Utc};
use panoptic_core::{BillingEvent, Spool};
use panoptic_spool::{SpoolOptions, SpoolWriter};

use crate::query::CostQuery;
use crate::query::testing::event;

/// Events of two services, out of time order, several sharing a time.
fn written() -> Vec<BillingEvent> {
    (0..200u32)
        .map(|i| {
            let service = if i.is_multiple_of(3) { "Other" } else { "Work" };
            let mut event = event(service, Some("0.01"), "USD", 1.0);
            event.ts = Utc.with_ymd_and_hms(2026, 12, 6, 0, 0, 0).unwrap()
                + Duration::seconds(i64::from((i * 37) % 90));
            event
        })
        .collect()
}

#[test]
fn the_newest_kept_while_reading_are_the_newest_of_all() {
    let dir = tempfile::tempdir().unwrap();
    let events = written();
    let options = SpoolOptions {
        segment_bytes: 4_096,
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
    let query = CostQuery::new().service("Work");
    let mut all: Vec<BillingEvent> = events.into_iter().filter(|e| query.matches(e)).collect();
    all.sort_by(|a, b| b.ts.cmp(&a.ts).then_with(|| b.id.cmp(&a.id)));
    for newest in [0, 1, 7, 50, all.len(), all.len() + 10] {
        let expected = &all[..newest.min(all.len())];
        assert_eq!(
            query.newest_on_spool(&spool, newest).unwrap(),
            expected,
            "{newest}"
        );
    }
}
