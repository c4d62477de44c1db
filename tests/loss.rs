//! Trying to lose an event: a diagnostic log level, a server frozen during
//! shutdown, an event too large for MongoDB, a corrupt record in the middle
//! of a spool segment, and a password that redaction used to miss. Each
//! runs against real server processes the test starts, freezes and kills,
//! and counts exactly what arrived.

mod common;

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::TestServer;
use panoptic::{Panoptic, Provider, billable};
use slog::{Drain, Never, OwnedKVList, Record};

/// A handle with short timeouts and quick retries, for servers that fail.
fn resilient(uri: &str, env: &str, spool: &Path) -> panoptic::PanopticBuilder {
    common::resilient(uri, env, spool, "Loss Tester")
}

/// The `seq` of every document in `collection` of `panoptic-{env}`.
async fn seqs(uri: &str, env: &str, collection: &str) -> Vec<i64> {
    common::metadata_at(uri, env, collection)
        .await
        .iter()
        .map(|m| m.get_i64("seq").unwrap())
        .collect()
}

fn assert_each_once(seqs: &[i64], expected: impl IntoIterator<Item = i64>) {
    let unique: HashSet<i64> = seqs.iter().copied().collect();
    assert_eq!(unique.len(), seqs.len(), "an event was stored twice");
    let expected: HashSet<i64> = expected.into_iter().collect();
    assert_eq!(unique, expected, "events missing or unexpected");
}

/// Counts the records a user drain receives, by level.
#[derive(Default)]
struct Counting {
    seen: AtomicU64,
    below_warning: AtomicU64,
}

struct CountingDrain(Arc<Counting>);

impl Drain for CountingDrain {
    type Ok = ();
    type Err = Never;
    fn log(&self, record: &Record, _: &OwnedKVList) -> Result<(), Never> {
        self.0.seen.fetch_add(1, Ordering::Relaxed);
        if !record.level().is_at_least(slog::Level::Warning) {
            self.0.below_warning.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }
}

#[billable(provider = "gcp", service = "BigQuery")]
fn quiet_query(n: i64) -> i64 {
    n
}

#[billable(provider = "gcp", service = "BigQuery")]
fn failing_query(n: i64) -> Result<i64, std::io::Error> {
    Err(std::io::Error::other(format!("query {n} failed")))
}

/// Loss path 1: A diagnostic level of `warning` used to store 100 of 2,100 records:
/// the level filter sat in front of MongoDB. It applies to the user's
/// drains only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_diagnostic_log_level_never_drops_billing_records() {
    let env = common::unique_env("level");
    let counting = Arc::new(Counting::default());
    // The only test of this binary that installs a global instance.
    let guard = common::builder(&env)
        .username("Loss Tester")
        .log_level(slog::Level::Warning)
        .drain(CountingDrain(Arc::clone(&counting)))
        .install()
        .unwrap();
    for n in 0..1_000 {
        assert_eq!(quiet_query(n), n);
    }
    for n in 0..100 {
        assert!(failing_query(n).is_err());
    }
    let log = guard.logger(Provider::Gcp, "BigQuery");
    for seq in 0..1_000i64 {
        panoptic::invoice!(log, "manual"; "seq" => seq);
    }
    assert!(guard.flush());
    let stats = guard.stats();
    assert_eq!(stats.emitted, 2_100, "{stats:?}");
    assert_eq!(stats.written, 2_100, "{stats:?}");
    let db = panoptic::naming::database_name(&env);
    let stored = common::count_at(&common::mongodb_uri(), &db, "gcp_loss_tester").await;
    assert_eq!(stored, 2_100);
    // The user's drain got the failing calls (error level) and nothing
    // below warning.
    assert_eq!(counting.seen.load(Ordering::Relaxed), 100);
    assert_eq!(counting.below_warning.load(Ordering::Relaxed), 0);
}

/// Loss path 2: A server that froze (SIGSTOP) while batches of two collections were
/// in flight: dropping the handle returns within its deadline plus one
/// second, every accepted event is on disk by then, and once the server
/// thaws a new process delivers each exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_against_a_frozen_server_keeps_every_event() {
    let server = TestServer::start();
    let uri = format!("{}?serverSelectionTimeoutMS=2000", server.uri());
    let env = common::unique_env("frozen");
    let spool = common::temp_dir("frozen");
    let panoptic = resilient(&uri, &env, &spool)
        .batch_size(50)
        .shutdown_deadline(Duration::from_secs(1))
        .build()
        .unwrap();
    let gcp = panoptic.logger(Provider::Gcp, "BigQuery");
    let aws = panoptic.logger(Provider::Aws, "S3");
    for seq in 0..100i64 {
        panoptic::invoice!(gcp, "before"; "seq" => seq);
        panoptic::invoice!(aws, "before"; "seq" => seq);
    }
    assert!(panoptic.flush());
    assert_eq!(panoptic.stats().written, 200);

    server.freeze();
    for seq in 100..300i64 {
        panoptic::invoice!(gcp, "frozen"; "seq" => seq);
        panoptic::invoice!(aws, "frozen"; "seq" => seq);
    }
    // Let the writer start inserts that hang.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    drop(panoptic);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "shutdown took {took:?}");
    // As if the process exited now: all 400 are on disk.
    let waiting = panoptic::Spool::open(&spool).events().unwrap();
    assert_eq!(waiting.len(), 400, "events on disk at exit");

    server.thaw();
    let next = resilient(&uri, &common::unique_env("frozen-next"), &spool)
        .build()
        .unwrap();
    let delivered = common::eventually(Duration::from_secs(60), || async {
        seqs(&uri, &env, "gcp_loss_tester").await.len() == 300
            && seqs(&uri, &env, "aws_loss_tester").await.len() == 300
    })
    .await;
    assert!(delivered, "stats: {:?}", next.stats());
    assert!(next.flush());
    assert_each_once(&seqs(&uri, &env, "gcp_loss_tester").await, 0..300);
    assert_each_once(&seqs(&uri, &env, "aws_loss_tester").await, 0..300);
    assert_eq!(next.spool().summary().unwrap().segments, 0);
}

/// Loss path 3: One event over MongoDB's 16 MiB limit among 30 in batches of 10 used
/// to take its batch-mates and the rest of its spool segment with it. It is
/// kept in a dead-letter file, counted failed, and the 29 others arrive,
/// whether MongoDB is up or the events go through the spool first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversize_event_is_dead_lettered_and_spares_the_others() {
    let huge = "x".repeat(17 * 1024 * 1024);
    for server_up in [true, false] {
        let env = common::unique_env("oversize");
        let spool = common::temp_dir("oversize");
        let port = common::free_port();
        let uri = if server_up {
            common::mongodb_uri()
        } else {
            format!("mongodb://127.0.0.1:{port}/?serverSelectionTimeoutMS=300")
        };
        let panoptic = resilient(&uri, &env, &spool)
            .batch_size(10)
            .build()
            .unwrap();
        let log = panoptic.logger(Provider::Gcp, "BigQuery");
        for seq in 0..30i64 {
            if seq == 14 {
                panoptic::invoice!(log, "huge"; "seq" => seq, "blob" => huge.as_str());
            } else {
                panoptic::invoice!(log, "small"; "seq" => seq);
            }
        }
        assert!(panoptic.flush());
        let mut server = None;
        let read_uri = if server_up {
            uri.clone()
        } else {
            // The server comes up where the handle looks for it.
            let s = TestServer::start_at(port, common::temp_dir("oversize-store"));
            let u = s.uri();
            server = Some(s);
            u
        };
        let delivered = common::eventually(Duration::from_secs(60), || async {
            seqs(&read_uri, &env, "gcp_loss_tester").await.len() == 29
        })
        .await;
        assert!(delivered, "up={server_up} stats: {:?}", panoptic.stats());
        assert!(panoptic.flush());
        assert_each_once(
            &seqs(&read_uri, &env, "gcp_loss_tester").await,
            (0..30).filter(|s| *s != 14),
        );
        let stats = panoptic.stats();
        assert_eq!((stats.failed, stats.dead_lettered), (1, 1), "{stats:?}");
        let letters = panoptic.spool().dead_letters().unwrap();
        assert_eq!(letters.len(), 1);
        assert_eq!(
            letters[0]
                .document
                .get_document("metadata")
                .unwrap()
                .get_i64("seq")
                .unwrap(),
            14
        );
        assert!(!letters[0].reason.is_empty());
        assert_eq!(panoptic.spool().summary().unwrap().segments, 0);
        drop(panoptic);
        drop(server);
    }
}

/// A batch whose documents add up to more than one BSON document may hold
/// (16 MiB), each of them well under it, is delivered whole: ten events of
/// 3 MiB in one batch of ten go in, none refused or set aside, none stored
/// twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_large_events_is_delivered_whole() {
    let blob = "x".repeat(3 * 1024 * 1024);
    let uri = common::mongodb_uri();
    let env = common::unique_env("large_batch");
    let panoptic = resilient(&uri, &env, &common::temp_dir("large-batch"))
        .batch_size(10)
        .flush_interval(Duration::from_secs(600))
        .build()
        .unwrap();
    let log = panoptic.logger(Provider::Gcp, "BigQuery");
    for seq in 0..10i64 {
        panoptic::invoice!(log, "large"; "seq" => seq, "blob" => blob.as_str());
    }
    assert!(panoptic.flush());
    let stats = panoptic.stats();
    assert_eq!(
        (stats.written, stats.failed, stats.spooled, stats.set_aside),
        (10, 0, 0, 0),
        "{stats:?}"
    );
    assert_each_once(&seqs(&uri, &env, "gcp_loss_tester").await, 0..10);
}

/// Loss path 4: A flipped byte in the middle of a spool segment used to cost every
/// record after it (the whole segment was deleted). Now it costs that
/// record only: the others are delivered, the damage is counted, and the
/// segment is set aside intact with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_record_mid_segment_costs_only_itself() {
    let env = common::unique_env("corrupt");
    let spool = common::temp_dir("corrupt");
    let dead = format!(
        "mongodb://127.0.0.1:{}/?serverSelectionTimeoutMS=200",
        common::free_port()
    );
    let offline = resilient(&dead, &env, &spool).build().unwrap();
    common::invoices(&offline, 0..300);
    assert_eq!(offline.stats().spooled, 300);
    drop(offline);

    let segments: Vec<_> = std::fs::read_dir(&spool)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    assert_eq!(segments.len(), 1);
    // Flip one byte in the middle of the file: inside one record.
    let mut bytes = std::fs::read(&segments[0]).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&segments[0], &bytes).unwrap();

    let uri = common::mongodb_uri();
    let online = resilient(&uri, &common::unique_env("corrupt-next"), &spool)
        .build()
        .unwrap();
    let delivered = common::eventually(Duration::from_secs(60), || async {
        seqs(&uri, &env, "gcp_loss_tester").await.len() == 299
    })
    .await;
    assert!(delivered, "stats: {:?}", online.stats());
    assert!(online.flush());
    let stored = seqs(&uri, &env, "gcp_loss_tester").await;
    let missing: Vec<i64> = (0..300).filter(|s| !stored.contains(s)).collect();
    assert_eq!(missing.len(), 1, "exactly the damaged record is missing");
    assert_each_once(&stored, (0..300).filter(|s| *s != missing[0]));
    let stats = online.stats();
    assert_eq!(
        (stats.corrupt_regions, stats.set_aside),
        (1, 1),
        "{stats:?}"
    );
    let aside = online.spool().set_aside().unwrap();
    assert_eq!(aside.len(), 1);
    assert!(aside[0].1.contains("unreadable"), "{}", aside[0].1);
    assert_eq!(std::fs::read(&aside[0].0).unwrap(), bytes, "kept intact");
}

/// Loss path 5: A password holding `/` was printed whole by the builder's Debug and
/// by the invalid-URI error: redaction cut at the first `/`, the driver
/// splits at the last `@`.
#[test]
fn a_password_with_a_slash_is_never_printed() {
    for password in ["se/cr@t", "a/b/c", "p%2Fw/x"] {
        let uri = format!("mongodb://bob:{password}@127.0.0.1:1/panoptic?w=1");
        let builder = Panoptic::builder().username("ann").mongodb_uri(&uri);
        let debug = format!("{builder:?}");
        assert!(!debug.contains(password), "{debug}");
        assert!(debug.contains("bob:*****@127.0.0.1:1"), "{debug}");
        let shown = match builder.build() {
            Err(error) => error.to_string(),
            Ok(panoptic) => format!("{panoptic:?}"),
        };
        assert!(!shown.contains(password), "{shown}");
        assert!(
            !shown.contains("se/cr") && !shown.contains("a/b"),
            "{shown}"
        );
    }
}

/// CRC-32 (IEEE), as spool records carry it.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A file dropped into the spool folder cannot make panoptic write
/// anywhere but a panoptic database: a well-formed record bound for
/// `admin` goes to a dead letter, a file that is not a segment is set
/// aside, and the genuine record beside them is delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_dropped_into_the_spool_cannot_redirect_writes() {
    let env = common::unique_env("dropped");
    let spool = common::temp_dir("dropped");
    let record = |database: &str, collection: &str, event: bson::Document| {
        let payload =
            bson::to_vec(&bson::doc! { "d": database, "c": collection, "e": event }).unwrap();
        let mut bytes = (payload.len() as u32).to_le_bytes().to_vec();
        bytes.extend(crc32(&payload).to_le_bytes());
        bytes.extend(payload);
        bytes
    };
    // Written in the first segment format, which every version reads.
    let mut segment = b"PANSPL01".to_vec();
    segment.extend(record(
        "admin",
        "evil_target",
        bson::doc! { "_id": 1, "user": "evil" },
    ));
    let genuine = panoptic::BillingEvent {
        id: bson::oid::ObjectId::new(),
        ts: chrono::Utc::now(),
        project_id: None,
        env: env.clone(),
        username: "Loss Tester".into(),
        category: panoptic::Category::Infra,
        provider: "gcp".into(),
        service: "BigQuery".into(),
        resource: "genuine".into(),
        kind: panoptic::Kind::Invoice,
        outcome: panoptic::Outcome::Ok,
        quantity: 1.0,
        unit: "call".into(),
        amount: Some(panoptic::Decimal::ONE),
        currency: "USD".into(),
        metadata: panoptic::Metadata {
            extra: bson::doc! { "seq": 7i64 },
            ..Default::default()
        },
    };
    segment.extend(record(
        &panoptic::naming::database_name(&env),
        "gcp_loss_tester",
        genuine.to_document(),
    ));
    std::fs::write(spool.join("000000000000001-dropped.seg"), &segment).unwrap();
    std::fs::write(spool.join("000000000000002-junk.seg"), b"not a segment").unwrap();

    let uri = common::mongodb_uri();
    let panoptic = resilient(&uri, &common::unique_env("dropped-next"), &spool)
        .build()
        .unwrap();
    let delivered = common::eventually(Duration::from_secs(30), || async {
        seqs(&uri, &env, "gcp_loss_tester").await == [7]
    })
    .await;
    assert!(delivered, "stats: {:?}", panoptic.stats());
    assert!(panoptic.flush());
    assert_eq!(common::count_at(&uri, "admin", "evil_target").await, 0);
    let letters = panoptic.spool().dead_letters().unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].database, "admin");
    let aside = panoptic.spool().set_aside().unwrap();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert!(
        aside[0].0.ends_with("000000000000002-junk.seg"),
        "{aside:?}"
    );
    assert_eq!(panoptic.spool().summary().unwrap().segments, 0);
}

/// Durations too large to add to a clock saturate: no panic, events flow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_configured_durations_saturate() {
    let env = common::unique_env("huge");
    let panoptic = common::builder(&env)
        .username("Loss Tester")
        .flush_interval(Duration::MAX)
        .retry_interval(Duration::MAX)
        .operation_timeout(Duration::MAX)
        .shutdown_deadline(Duration::MAX)
        .build()
        .unwrap();
    common::invoices(&panoptic, 0..10);
    assert_eq!(panoptic.stats().written, 10);
    drop(panoptic);
    assert_each_once(
        &seqs(&common::mongodb_uri(), &env, "gcp_loss_tester").await,
        0..10,
    );
}

/// Callers blocked by `Overflow::Block` behind a frozen server are released
/// by the shutdown, and what they emit goes to the spool.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_releases_blocked_callers() {
    let server = TestServer::start();
    let uri = format!("{}?serverSelectionTimeoutMS=2000", server.uri());
    let spool = common::temp_dir("blocked");
    let panoptic = resilient(&uri, &common::unique_env("blocked"), &spool)
        .batch_size(5)
        .queue_capacity(10)
        .overflow(panoptic::Overflow::Block)
        .shutdown_deadline(Duration::from_secs(1))
        .build()
        .unwrap();
    let log = panoptic.logger(Provider::Gcp, "BigQuery");
    panoptic::invoice!(log, "warm"; "seq" => -1i64);
    assert!(panoptic.flush());
    server.freeze();
    let emitter = std::thread::spawn(move || {
        for seq in 0..100i64 {
            panoptic::invoice!(log, "blocked"; "seq" => seq);
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !emitter.is_finished(),
        "the caller should be blocked by now"
    );
    let started = Instant::now();
    drop(panoptic);
    assert!(started.elapsed() < Duration::from_secs(2));
    let released = Instant::now();
    while !emitter.is_finished() {
        assert!(
            released.elapsed() < Duration::from_secs(10),
            "still blocked"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    emitter.join().unwrap();
    let on_disk = panoptic::Spool::open(&spool).events().unwrap();
    assert_eq!(
        on_disk.len(),
        100,
        "every event of the blocked caller is on disk"
    );
    server.thaw();
}

/// The child of the closed-stderr test: errors to report, a stderr that
/// cannot be written.
#[test]
fn closed_stderr_child() {
    if std::env::var("PANOPTIC_CLOSED_STDERR_CHILD").is_err() {
        return;
    }
    let spool = common::temp_dir("epipe");
    let dead = format!(
        "mongodb://127.0.0.1:{}/?serverSelectionTimeoutMS=100",
        common::free_port()
    );
    let panoptic = resilient(&dead, "epipe", &spool).build().unwrap();
    common::invoices(&panoptic, 0..50);
    let spooled = panoptic.stats().spooled;
    drop(panoptic);
    println!("EPIPE-CHILD-OK {spooled}");
}

/// A closed stderr (EPIPE) makes `eprintln!` panic; the writer's reports
/// must not, and events still go where they should.
#[test]
fn a_closed_stderr_stops_nothing() {
    let mut child = common::child_test("closed_stderr_child")
        .env("PANOPTIC_CLOSED_STDERR_CHILD", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take()); // the read end is gone: writes fail with EPIPE
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("EPIPE-CHILD-OK 50"), "{stdout}");
}

/// A collection MongoDB refuses to this user (not authorized on that
/// database) must not block every later segment: its records are set aside
/// with the reason, and events for the databases the user may write keep
/// flowing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_database_is_set_aside_and_blocks_nothing() {
    let port = common::free_port();
    let server = TestServer::start_with(port, common::temp_dir("authz-store"), &["--auth"]);
    let env = common::unique_env("authz");
    let allowed_db = panoptic::naming::database_name(&env);
    // The first user through the localhost exception, then a billing user
    // that may write one panoptic database only.
    let open = common::client_for(&server.uri()).await;
    open.database("admin")
        .run_command(bson::doc! { "createUser": "root", "pwd": "rootpw", "roles": ["root"] })
        .await
        .expect("first user");
    let root_uri = format!("mongodb://root:rootpw@127.0.0.1:{port}/?authSource=admin");
    let root = common::client_for(&root_uri).await;
    root.database("admin")
        .run_command(bson::doc! {
            "createUser": "billing",
            "pwd": "billing-pw",
            "roles": [{ "role": "readWrite", "db": &allowed_db }],
        })
        .await
        .expect("billing user");

    let spool = common::temp_dir("authz");
    let uri = format!(
        "mongodb://billing:billing-pw@127.0.0.1:{port}/?authSource=admin&serverSelectionTimeoutMS=1000"
    );
    // Each new connection authenticates (SCRAM, costly in a debug build):
    // under a loaded machine that can outlast `resilient`'s 300 ms, which
    // would take the writer offline for reasons this test is not about.
    let panoptic = resilient(&uri, &env, &spool)
        .server_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let log = panoptic.logger(Provider::Gcp, "BigQuery");
    for seq in 0..50i64 {
        panoptic::invoice!(log, "allowed"; "seq" => seq);
        // The record's own env wins over the logger's: another database.
        panoptic::invoice!(log, "forbidden"; "seq" => seq, "env" => "forbidden");
    }
    assert!(panoptic.flush());
    let set_aside = common::eventually(Duration::from_secs(30), || async {
        panoptic.stats().set_aside >= 1
    })
    .await;
    assert!(set_aside, "stats: {:?}", panoptic.stats());
    // Later events still flow to the database the user may write.
    common::invoices(&panoptic, 50..100);
    let delivered = common::eventually(Duration::from_secs(30), || async {
        seqs(&root_uri, &env, "gcp_loss_tester").await.len() == 100
    })
    .await;
    assert!(delivered, "stats: {:?}", panoptic.stats());
    assert_each_once(&seqs(&root_uri, &env, "gcp_loss_tester").await, 0..100);
    assert_eq!(
        common::count_at(&root_uri, "panoptic-forbidden", "gcp_loss_tester").await,
        0
    );
    let aside = panoptic.spool().set_aside().unwrap();
    assert!(!aside.is_empty());
    assert!(
        aside
            .iter()
            .all(|(_, why)| why.contains("panoptic-forbidden")),
        "{aside:?}"
    );
    // Nothing of the forbidden database was lost: every record is in a
    // set-aside segment.
    let kept: usize = aside
        .iter()
        .map(|(path, _)| {
            panoptic::SegmentReader::open(path)
                .unwrap()
                .filter(|item| matches!(item, Ok(panoptic::SegmentItem::Record(_))))
                .count()
        })
        .sum();
    assert!(kept >= 50, "{kept} forbidden records kept");
    drop(server);
}

/// At the spool's cap, events MongoDB cannot take either are dropped,
/// counted and reported — never more than the cap on disk — and once
/// replay frees the space, the next outage spools again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_spool_cap_turns_events_away_counted_and_recovers() {
    let port = common::free_port();
    let uri = format!("mongodb://127.0.0.1:{port}/?serverSelectionTimeoutMS=300");
    let env = common::unique_env("cap");
    let spool = common::temp_dir("cap");
    const CAP: u64 = 32 * 1024;
    let panoptic = resilient(&uri, &env, &spool)
        .spool_max_bytes(CAP)
        .build()
        .unwrap();
    common::invoices(&panoptic, 0..400);
    let stats = panoptic.stats();
    assert!(stats.dropped > 0, "the cap turned nothing away: {stats:?}");
    assert_eq!(stats.spooled + stats.dropped, 400, "{stats:?}");
    assert!(
        stats
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("dropped")),
        "{stats:?}"
    );
    let summary = panoptic.spool().summary().unwrap();
    assert!(summary.bytes <= CAP, "{summary:?}");
    assert_eq!(summary.events as u64, stats.spooled);

    // The server comes back: replay frees the space.
    let server = TestServer::start_at(port, common::temp_dir("cap-store"));
    let replayed = common::eventually(Duration::from_secs(60), || async {
        panoptic.spool().summary().unwrap().events == 0
    })
    .await;
    assert!(replayed, "stats: {:?}", panoptic.stats());
    assert_eq!(
        seqs(&server.uri(), &env, "gcp_loss_tester").await.len() as u64,
        stats.spooled
    );
    // The next outage spools again, nothing turned away.
    server.kill();
    drop(server);
    let dropped = panoptic.stats().dropped;
    common::invoices(&panoptic, 400..420);
    let after = panoptic.stats();
    assert_eq!(after.dropped, dropped, "{after:?}");
    assert_eq!(panoptic.spool().summary().unwrap().events, 20);
}
