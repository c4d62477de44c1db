//! A panic inside the writer's batch handling, injected on a chosen event:
//! the writer goes on, the batch it held is rescued to the spool and
//! delivered, nothing is lost or stored twice, and a caller blocked on a
//! full queue is released. Its own test binary: the fault hook is global.

mod common;

use std::time::{Duration, Instant};

use common::TestServer;
use panoptic::billable;

#[billable(provider = "gcp", service = "BigQuery")]
fn steady_query(n: i64) -> i64 {
    n
}

#[billable(provider = "gcp", service = "BigQuery")]
fn poisoned_query(n: i64) -> i64 {
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_panic_loses_nothing_and_blocks_nobody() {
    let server = TestServer::start();
    let uri = server.uri();
    let env = common::unique_env("writer-panic");
    let spool = common::temp_dir("writer-panic");
    let panoptic = common::resilient(&uri, &env, &spool, "Panic Tester")
        .batch_size(10)
        .queue_capacity(20)
        .overflow(panoptic::Overflow::Block)
        .install()
        .unwrap();
    panoptic_core::fault::panic_writer_on("poisoned_query");

    // Calls run on other threads, blocking whenever the queue is full: a
    // dead writer would leave them blocked for good.
    let emitters: Vec<_> = (0..2)
        .map(|thread| {
            std::thread::spawn(move || {
                for n in 0..150 {
                    steady_query(n);
                    if thread == 0 && n == 75 {
                        poisoned_query(n);
                    }
                }
            })
        })
        .collect();
    let started = Instant::now();
    while !emitters.iter().all(|e| e.is_finished()) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "callers stay blocked after the writer panicked"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    for emitter in emitters {
        emitter.join().unwrap();
    }
    assert!(panoptic.flush(), "flush timed out");

    let stats = panoptic.stats();
    assert_eq!(stats.writer_panics, 1, "{stats:?}");
    assert_eq!(stats.emitted, 301, "{stats:?}");
    assert_eq!(stats.failed + stats.dropped, 0, "{stats:?}");
    // The batch that held the poisoned event went to the spool, then in.
    assert!(stats.spooled >= 1, "nothing was rescued: {stats:?}");
    let collection = "gcp_panic_tester";
    let ok = common::eventually(Duration::from_secs(20), || async {
        common::documents_at(&uri, &env, collection).await.len() >= 301
    })
    .await;
    let documents = common::documents_at(&uri, &env, collection).await;
    assert!(ok, "{} of 301 documents stored", documents.len());
    assert_eq!(documents.len(), 301, "an event was stored twice");
    let poisoned = documents
        .iter()
        .filter(|d| d.get_str("resource") == Ok("poisoned_query"))
        .count();
    assert_eq!(poisoned, 1);
}
