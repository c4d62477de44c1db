//! Summary-backed reports against the pure streaming ones, over real
//! segment files: random events and queries, summaries missing, torn,
//! about another segment or about a segment changed since.

use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;
use rust_decimal::Decimal;

use panoptic_core::naming::{collection_name, database_name};
use panoptic_core::{BillingEvent, Category, Kind, Metadata, Outcome, Spool};
use panoptic_spool::{SegmentIdentity, SpoolOptions, SpoolWriter, segments, summary_path};

use super::SummaryCache;
use crate::query::{CostQuery, GroupBy, Tz};

fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 3, 0, 0, 0).unwrap()
}

/// The facts and sums of one made-up event, drawn from small sets so that
/// groups repeat.
#[derive(Debug, Clone)]
struct Seed {
    ms: i64,
    env: usize,
    provider: usize,
    user: usize,
    service: usize,
    resource: usize,
    kind: usize,
    outcome: usize,
    currency: usize,
    cents: Option<i64>,
    half_units: u32,
    duration: Option<u32>,
    end_user: Option<usize>,
    tags: usize,
    flag: usize,
}

const ENVS: [&str; 2] = ["dev", "prod"];
const PROVIDERS: [&str; 2] = ["gcp", "openai"];
const USERS: [&str; 2] = ["ann", "Bob Ray"];
const SERVICES: [&str; 3] = ["Alpha", "Beta", "Gamma"];
const KINDS: [Kind; 4] = [
    Kind::Invoice,
    Kind::Charge,
    Kind::TokenUsage,
    Kind::Adjustment,
];
const OUTCOMES: [Outcome; 3] = [Outcome::Ok, Outcome::Error, Outcome::Cancelled];
const CURRENCIES: [&str; 2] = ["USD", "EUR"];
const TAGS: [&[&str]; 4] = [&[], &["beta"], &["beta", "eu"], &["eu", "beta"]];
/// Three days and a bit, in milliseconds.
const SPAN_MS: i64 = 75 * 3_600_000 + 1_234_567;

fn seed() -> impl Strategy<Value = Seed> {
    (
        (
            0..SPAN_MS,
            0..2usize,
            0..2usize,
            0..2usize,
            0..3usize,
            0..4usize,
        ),
        (
            0..4usize,
            0..3usize,
            0..2usize,
            proptest::option::weighted(0.85, -500..200_000i64),
        ),
        (
            0..9u32,
            proptest::option::of(0..5_000u32),
            proptest::option::of(0..2usize),
        ),
        (0..4usize, 0..20usize),
    )
        .prop_map(
            |(
                (ms, env, provider, user, service, resource),
                (kind, outcome, currency, cents),
                (half_units, duration, end_user),
                (tags, flag),
            )| Seed {
                ms,
                env,
                provider,
                user,
                service,
                resource,
                kind,
                outcome,
                currency,
                cents,
                half_units,
                duration,
                end_user,
                tags,
                flag,
            },
        )
}

fn event(s: &Seed) -> BillingEvent {
    let mut extra = bson::Document::new();
    // Start records and alerts: in the spool, never summed.
    match s.flag {
        0 => {
            extra.insert("start", true);
        }
        1 => {
            extra.insert("alert", true);
        }
        _ => {}
    }
    BillingEvent {
        id: bson::oid::ObjectId::new(),
        ts: base() + Duration::milliseconds(s.ms),
        project_id: None,
        env: ENVS[s.env].into(),
        username: USERS[s.user].into(),
        category: Category::Infra,
        provider: PROVIDERS[s.provider].into(),
        service: SERVICES[s.service].into(),
        resource: format!("r{}", s.resource),
        kind: KINDS[s.kind],
        outcome: OUTCOMES[s.outcome],
        // Halves add up exactly in any order, as amounts always do.
        quantity: f64::from(s.half_units) / 2.0,
        unit: "call".into(),
        amount: s.cents.map(|c| Decimal::new(c * 1_013, 6)),
        currency: CURRENCIES[s.currency].into(),
        metadata: Metadata {
            duration_ms: s.duration.map(|d| f64::from(d) * 0.37),
            user: s.end_user.map(|u| format!("customer-{u}")),
            tags: TAGS[s.tags].iter().map(|t| (*t).to_owned()).collect(),
            extra,
            ..Metadata::default()
        },
    }
}

/// Appends `events` to sealed segments of about `segment_bytes` in `dir`,
/// then `open` more to a segment a live writer still holds (returned, to
/// keep it open).
fn spool(dir: &Path, events: &[BillingEvent], segment_bytes: u64, open: usize) -> SpoolWriter {
    let options = SpoolOptions {
        segment_bytes,
        ..SpoolOptions::default()
    };
    let mut writer = SpoolWriter::with_options(dir.to_owned(), options);
    let (sealed, live) = events.split_at(events.len() - open.min(events.len()));
    for e in sealed {
        append(&mut writer, e);
        writer.seal_if_full().unwrap();
    }
    writer.seal().unwrap();
    for e in live {
        append(&mut writer, e);
    }
    writer
}

fn append(writer: &mut SpoolWriter, e: &BillingEvent) {
    let database = database_name(&e.env);
    let collection = collection_name(&e.provider, &e.username);
    writer
        .append(&database, &collection, &[e.to_document()], false)
        .unwrap();
}

#[derive(Debug, Clone)]
struct QuerySeed {
    filters: Vec<Option<usize>>,
    group_by: Vec<usize>,
    zone: usize,
    since: Option<i64>,
    until: Option<i64>,
}

const ZONES: [Option<Tz>; 4] = [
    None,
    Some(chrono_tz::Asia::Kolkata),
    Some(chrono_tz::America::Los_Angeles),
    Some(chrono_tz::Asia::Kathmandu),
];

fn query_seed() -> impl Strategy<Value = QuerySeed> {
    (
        proptest::collection::vec(proptest::option::weighted(0.2, 0..4usize), 9),
        proptest::collection::vec(0..GroupBy::ALL.len(), 0..3),
        0..ZONES.len(),
        proptest::option::of(-3_600_000..SPAN_MS),
        proptest::option::of(0..SPAN_MS + 3_600_000),
    )
        .prop_map(|(filters, group_by, zone, since, until)| QuerySeed {
            filters,
            group_by,
            zone,
            since,
            until,
        })
}

fn query(q: &QuerySeed) -> CostQuery {
    let mut query = CostQuery::new().group_by(q.group_by.iter().map(|&i| GroupBy::ALL[i]));
    let [
        env,
        provider,
        service,
        outcome,
        end_user,
        tag,
        user,
        resource,
        kind,
    ]: [Option<usize>; 9] = q.filters[..].try_into().expect("nine filters");
    if let Some(i) = user {
        query = query.username(USERS[i % 2]);
    }
    if let Some(i) = resource {
        query = query.resource(format!("r{i}"));
    }
    if let Some(i) = kind {
        query = query.kind(KINDS[i]);
    }
    if let Some(i) = env {
        query = query.env(ENVS[i % 2]);
    }
    if let Some(i) = provider {
        query = query.provider(PROVIDERS[i % 2]);
    }
    if let Some(i) = service {
        query = query.service(SERVICES[i % 3]);
    }
    if let Some(i) = outcome {
        query = query.outcome(OUTCOMES[i % 3]);
    }
    if let Some(i) = end_user {
        query = query.metadata_user(format!("customer-{}", i % 2));
    }
    if let Some(i) = tag {
        query = query.tag(["beta", "eu"][i % 2]);
    }
    if let Some(zone) = ZONES[q.zone] {
        query = query.time_zone(zone);
    }
    if let Some(since) = q.since {
        query = query.since(base() + Duration::milliseconds(since));
    }
    if let Some(until) = q.until {
        query = query.until(base() + Duration::milliseconds(until));
    }
    query
}

fn summaries(dir: &Path) -> Vec<PathBuf> {
    segments(dir)
        .unwrap()
        .into_iter()
        .map(|s| summary_path(&s))
        .filter(|s| s.exists())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Whatever the events and the query, the rows from summaries (first
    /// read writing them, later reads using them, some deleted again) are
    /// the streaming reader's, row for row.
    #[test]
    fn summary_backed_rows_are_the_streaming_rows(
        seeds in proptest::collection::vec(seed(), 1..260),
        queries in proptest::collection::vec(query_seed(), 1..5),
        segment_bytes in 1_500u64..12_000,
        open in 0usize..20,
        forget in any::<u64>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let events: Vec<BillingEvent> = seeds.iter().map(event).collect();
        let _live = spool(dir.path(), &events, segment_bytes, open);
        let spool = Spool::open(dir.path());
        for (n, q) in queries.iter().enumerate() {
            let query = query(q);
            let expected = query.run_on_spool_scan(&spool).unwrap();
            prop_assert_eq!(&query.run_on_spool(&spool).unwrap(), &expected, "first read {:?}", q);
            prop_assert_eq!(&query.run_on_spool(&spool).unwrap(), &expected, "summaries {:?}", q);
            // Some summaries gone again: segments with and without.
            for (i, summary) in summaries(dir.path()).iter().enumerate() {
                if (forget >> ((i + n) % 64)) & 1 == 1 {
                    fs::remove_file(summary).unwrap();
                }
            }
            prop_assert_eq!(&query.run_on_spool(&spool).unwrap(), &expected, "mixed {:?}", q);
        }
    }
}

/// Four days of events in segments of about 4 KiB, all sealed.
fn sealed_spool(dir: &Path) -> Vec<BillingEvent> {
    let events: Vec<BillingEvent> = (0..600u32)
        .map(|i| {
            event(&Seed {
                ms: i64::from(i) * 523_001,
                env: (i % 2) as usize,
                provider: (i % 3 % 2) as usize,
                user: (i % 5 % 2) as usize,
                service: (i % 3) as usize,
                resource: (i % 4) as usize,
                kind: (i % 4) as usize,
                outcome: (i % 3) as usize,
                currency: (i % 7 % 2) as usize,
                cents: (i % 11 != 0).then_some(i64::from(i) * 7),
                half_units: i % 9,
                duration: (i % 13 != 0).then_some(i * 17 % 5_000),
                end_user: (i % 2 == 0).then_some((i % 3 % 2) as usize),
                tags: (i % 4) as usize,
                flag: (i % 20) as usize,
            })
        })
        .collect();
    drop(spool(dir, &events, 4_096, 0));
    events
}

fn some_queries() -> Vec<CostQuery> {
    let day = |d| Utc.with_ymd_and_hms(2026, 12, d, 0, 0, 0).unwrap();
    vec![
        CostQuery::new().group_by([GroupBy::Service]),
        CostQuery::new().group_by([GroupBy::Resource, GroupBy::Day]),
        CostQuery::new()
            .env("prod")
            .tag("eu")
            .since(day(4) + Duration::minutes(17))
            .until(day(5) + Duration::seconds(5))
            .group_by([GroupBy::Hour, GroupBy::User]),
        CostQuery::new()
            .time_zone(chrono_tz::Asia::Kolkata)
            .group_by([GroupBy::Day, GroupBy::Provider]),
    ]
}

fn assert_same_as_streaming(spool: &Spool, when: &str) {
    for query in some_queries() {
        let expected = query.run_on_spool_scan(spool).unwrap();
        assert!(!expected.is_empty(), "{query:?}");
        assert_eq!(
            query.run_on_spool(spool).unwrap(),
            expected,
            "{when}: {query:?}"
        );
    }
}

/// The first report writes a summary beside each sealed segment, none for
/// the segment a writer holds; later reports read them.
#[test]
fn the_first_report_summarizes_sealed_segments_only() {
    let dir = tempfile::tempdir().unwrap();
    let events: Vec<BillingEvent> = sealed_spool(tempfile::tempdir().unwrap().path());
    let _live = spool(dir.path(), &events, 4_096, 25);
    let all = segments(dir.path()).unwrap();
    assert!(summaries(dir.path()).is_empty());
    let spool = Spool::open(dir.path());
    assert_same_as_streaming(&spool, "first read");
    assert_eq!(
        summaries(dir.path()).len(),
        all.len() - 1,
        "all but the live one"
    );
    assert!(!summary_path(all.last().unwrap()).exists());
    assert_same_as_streaming(&spool, "from summaries");
}

/// A summary that says something else than its segment's events, with a
/// valid checksum and identity, is believed: the proof that reports read
/// summaries rather than events (and why identity and checksum matter).
#[test]
fn a_report_reads_the_summary_not_the_events() {
    let dir = tempfile::tempdir().unwrap();
    let events = sealed_spool(dir.path());
    let spool = Spool::open(dir.path());
    let query = CostQuery::new();
    let before = query.run_on_spool(&spool).unwrap();
    let first = &segments(dir.path()).unwrap()[0];
    let identity = SegmentIdentity::at(first).unwrap();
    let mut hours = super::content::Hours::default();
    let mut extra = events[1].clone();
    extra.amount = Some(Decimal::new(1_000, 0));
    extra.currency = "USD".into();
    extra.metadata.extra = bson::Document::new();
    hours.add(&extra);
    panoptic_spool::write_summary(first, &identity, &hours.encode(identity.length)).unwrap();
    let after = query.run_on_spool(&spool).unwrap();
    assert_ne!(after, before, "the summary was read");
    assert_eq!(
        query.run_on_spool_scan(&spool).unwrap(),
        before,
        "the events are unchanged"
    );
}

/// Summaries missing, torn mid-file, copied from another segment, and
/// segments cut or grown after their summary was written: every report
/// still equals the streaming one, and the next writes good summaries.
#[test]
fn summaries_that_do_not_match_their_segment_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    sealed_spool(dir.path());
    let spool = Spool::open(dir.path());
    assert_same_as_streaming(&spool, "first read");
    let files = segments(dir.path()).unwrap();
    assert!(files.len() > 8, "{} segments", files.len());

    // Missing.
    fs::remove_file(summary_path(&files[0])).unwrap();
    // A byte flipped in the middle of a summary.
    let mut bytes = fs::read(summary_path(&files[1])).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x20;
    fs::write(summary_path(&files[1]), bytes).unwrap();
    // Cut short.
    let bytes = fs::read(summary_path(&files[2])).unwrap();
    fs::write(summary_path(&files[2]), &bytes[..bytes.len() - 3]).unwrap();
    // Another segment's summary.
    fs::copy(summary_path(&files[4]), summary_path(&files[3])).unwrap();
    // A segment cut in the middle of its last record...
    let length = fs::metadata(&files[5]).unwrap().len();
    OpenOptions::new()
        .write(true)
        .open(&files[5])
        .unwrap()
        .set_len(length - 40)
        .unwrap();
    // ...one with a bit flipped inside (time kept as it was)...
    let modified = fs::metadata(&files[6]).unwrap().modified().unwrap();
    let mut bytes = fs::read(&files[6]).unwrap();
    let end = bytes.len() - 100;
    bytes[end] ^= 0x04;
    fs::write(&files[6], bytes).unwrap();
    OpenOptions::new()
        .write(true)
        .open(&files[6])
        .unwrap()
        .set_modified(modified)
        .unwrap();
    // ...and one that grew (a record of another copied at its end).
    let tail = fs::read(&files[8]).unwrap()[8..].to_vec();
    let mut grown = fs::read(&files[7]).unwrap();
    grown.extend_from_slice(&tail);
    fs::write(&files[7], grown).unwrap();

    assert_same_as_streaming(&spool, "after the damage");
    assert_same_as_streaming(&spool, "from the rebuilt summaries");
    assert_eq!(summaries(dir.path()).len(), files.len(), "each rebuilt");
}

/// Calls with start records, some ended (the final event often in a later
/// segment), some not: the open calls from summaries that keep the
/// call-carrying events equal those of every event, and the summaries do
/// keep them.
#[test]
fn open_calls_from_summaries_are_those_of_every_event() {
    let dir = tempfile::tempdir().unwrap();
    let mut events = Vec::new();
    let mut later: Vec<(u32, BillingEvent)> = Vec::new();
    for i in 0..900u32 {
        let e = event(&Seed {
            ms: i64::from(i) * 61_000,
            env: 0,
            provider: 0,
            user: 0,
            service: (i % 3) as usize,
            resource: (i % 4) as usize,
            kind: 0,
            outcome: 0,
            currency: 0,
            cents: Some(i64::from(i)),
            half_units: 2,
            duration: Some(i),
            end_user: None,
            tags: 0,
            flag: 5,
        });
        if i % 9 == 0 {
            let call = format!("call-{}", i / 9);
            let mut start = e.clone();
            start.id = bson::oid::ObjectId::new();
            start.amount = None;
            start.metadata.extra = bson::doc! { "call_id": &call, "start": true };
            events.push(start);
            // Every fourth call never ends; the others end 20 events later.
            if (i / 9) % 4 != 0 {
                let mut end = e.clone();
                end.id = bson::oid::ObjectId::new();
                end.metadata.extra = bson::doc! { "call_id": &call };
                later.push((i + 20, end));
            }
        }
        events.push(e);
        while let Some(at) = later.iter().position(|(when, _)| *when == i) {
            events.push(later.remove(at).1);
        }
    }
    events.extend(later.into_iter().map(|(_, end)| end));
    drop(spool(dir.path(), &events, 30_000, 0));
    let spool = Spool::open(dir.path());
    let query = CostQuery::new().service("Alpha");
    let expected = crate::open_calls::open_calls_in(&query, &events);
    assert!(!expected.is_empty());
    let ids = |calls: &[crate::open_calls::OpenCall]| -> Vec<String> {
        calls.iter().map(|c| c.call_id.clone()).collect()
    };
    let before = crate::open_calls_scan::open_calls_on_spool(&query, &spool).unwrap();
    assert_eq!(ids(&before), ids(&expected), "from events");
    query.run_on_spool(&spool).unwrap();
    let files = segments(dir.path()).unwrap();
    assert!(files.len() > 5);
    let kept = files.iter().all(|f| {
        let identity = SegmentIdentity::at(f).unwrap();
        let summary = panoptic_spool::read_summary(f, &identity).unwrap();
        super::content::calls(&summary).is_some()
    });
    assert!(kept, "every summary keeps its calls");
    let after = crate::open_calls_scan::open_calls_on_spool(&query, &spool).unwrap();
    assert_eq!(after, before, "from summaries");
}

/// What a long-lived reader ([`SummaryCache`]) answers, checked against
/// a fresh streaming read of every event, row for row.
fn assert_held_is_fresh(spool: &Spool, held: &SummaryCache, queries: &[CostQuery], when: &str) {
    for query in queries {
        assert_eq!(
            query.run_on_spool_cached(spool, held).unwrap(),
            query.run_on_spool_scan(spool).unwrap(),
            "{when}: {query:?}"
        );
    }
}

/// Held summaries are read once: a summary changed behind a held segment
/// (same identity) is not read again, so the held rows stay those of the
/// events; the segment deleted, its hours are rebuilt from the others.
#[test]
fn held_summaries_are_read_once_and_let_go_with_their_segment() {
    let dir = tempfile::tempdir().unwrap();
    // Segments large enough that each summary keeps its groups.
    let events = sealed_spool(tempfile::tempdir().unwrap().path());
    drop(spool(dir.path(), &events, 30_000, 0));
    let spool = Spool::open(dir.path());
    let held = SummaryCache::new();
    let queries = some_queries();
    // First: summaries written; second: read and held.
    assert_held_is_fresh(&spool, &held, &queries, "summaries written");
    assert_held_is_fresh(&spool, &held, &queries, "summaries held");
    let files = segments(dir.path()).unwrap();
    assert!(files.len() > 3, "{} segments", files.len());
    // The last segment is still open: read from its events, never held.
    assert_eq!(held.held().0, files.len() - 1, "every sealed segment held");

    // A summary rewritten with other sums: not read again while held.
    let first = &files[0];
    let identity = SegmentIdentity::at(first).unwrap();
    let mut hours = super::content::Hours::default();
    let mut extra = events[1].clone();
    extra.amount = Some(Decimal::new(1_000, 0));
    extra.metadata.extra = bson::Document::new();
    hours.add(&extra);
    panoptic_spool::write_summary(first, &identity, &hours.encode(identity.length)).unwrap();
    assert_held_is_fresh(&spool, &held, &queries, "summary changed behind");

    // Delivered: the segment and its summary deleted.
    panoptic_spool::remove_segment(&files[3]).unwrap();
    panoptic_spool::remove_segment(first).unwrap();
    assert_held_is_fresh(&spool, &held, &queries, "segments delivered");
    assert_eq!(held.held().0, files.len() - 3);
}

/// One change to the spool between two reports of a long-lived reader.
#[derive(Debug, Clone)]
enum Change {
    /// More events: segments sealed as they fill, the last one left open.
    Append(usize),
    /// The open segment sealed.
    Seal,
    /// A sealed segment delivered (deleted with its summary).
    Deliver(usize),
    /// A summary deleted, or torn (a byte flipped).
    LoseSummary(usize, bool),
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        3 => (1..60usize).prop_map(Change::Append),
        1 => Just(Change::Seal),
        2 => any::<usize>().prop_map(Change::Deliver),
        1 => (any::<usize>(), any::<bool>()).prop_map(|(i, torn)| Change::LoseSummary(i, torn)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Whatever changes between two reports (segments added, the open one
    /// grown then sealed, segments delivered, summaries lost or torn), a
    /// long-lived reader's rows are those of a fresh read of every event.
    #[test]
    fn held_summaries_follow_every_change_of_the_spool(
        seeds in proptest::collection::vec(seed(), 1..300),
        changes in proptest::collection::vec(change(), 1..10),
        queries in proptest::collection::vec(query_seed(), 1..3),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path());
        let held = SummaryCache::new();
        let queries: Vec<CostQuery> = queries.iter().map(query).collect();
        let events: Vec<BillingEvent> = seeds.iter().map(event).collect();
        let mut next = events.iter();
        let mut writer = SpoolWriter::with_options(
            dir.path().to_owned(),
            SpoolOptions { segment_bytes: 6_000, ..SpoolOptions::default() },
        );
        for change in &changes {
            let sealed: Vec<PathBuf> = segments(dir.path())
                .unwrap()
                .into_iter()
                .filter(|s| Some(s.as_path()) != writer.active_path())
                .collect();
            match *change {
                Change::Append(count) => {
                    for e in next.by_ref().take(count) {
                        append(&mut writer, e);
                        writer.seal_if_full().unwrap();
                    }
                }
                Change::Seal => writer.seal().unwrap(),
                Change::Deliver(i) if !sealed.is_empty() => {
                    panoptic_spool::remove_segment(&sealed[i % sealed.len()]).unwrap();
                }
                Change::LoseSummary(i, torn) if !sealed.is_empty() => {
                    let summary = summary_path(&sealed[i % sealed.len()]);
                    match fs::read(&summary) {
                        Ok(mut bytes) if torn => {
                            let middle = bytes.len() / 2;
                            bytes[middle] ^= 0x20;
                            fs::write(&summary, bytes).unwrap();
                        }
                        Ok(_) => fs::remove_file(&summary).unwrap(),
                        Err(_) => {}
                    }
                }
                Change::Deliver(_) | Change::LoseSummary(..) => {}
            }
            for query in &queries {
                let expected = query.run_on_spool_scan(&spool).unwrap();
                prop_assert_eq!(
                    &query.run_on_spool_cached(&spool, &held).unwrap(),
                    &expected,
                    "after {:?}: {:?}", change, query
                );
            }
        }
    }
}
