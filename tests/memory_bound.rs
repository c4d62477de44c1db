//! Memory stays bounded by the queue, not by the length of an outage: with
//! MongoDB down and 10k events/s offered, what does not fit in memory goes
//! to the spool. Alone in its own test binary so that the process's peak
//! resident memory is this test's.

mod common;

use std::time::Duration;

use panoptic::{Overflow, Panoptic, Provider};

/// Peak resident set size of this process, in KiB (Linux `VmHWM`).
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

/// The bound this test states: the outage may add at most 64 MiB of
/// resident memory, whatever its length (here 60,000 events, about
/// 15 MiB of documents, must not all stay in memory).
const BOUND_KIB: u64 = 64 * 1024;

#[test]
fn outage_memory_is_bounded_and_the_rest_goes_to_disk() {
    let spool = common::temp_dir("memory");
    let dead = format!("mongodb://127.0.0.1:{}/", common::free_port());
    let panoptic = Panoptic::builder()
        .username("memory")
        .env(common::unique_env("memory"))
        .mongodb_uri(dead)
        .spool_dir(&spool)
        .server_timeout(Duration::from_millis(200))
        .queue_capacity(1_000)
        .overflow(Overflow::Spill)
        .build()
        .unwrap();
    let log = panoptic.logger(Provider::Gcp, "PubSub");
    // Warm up allocators and the client before measuring.
    panoptic::invoice!(log, "warmup");
    assert!(panoptic.flush());
    let before = peak_rss_kib();

    // 10k events/s offered for 6 s: 100 events, then 10 ms.
    let padding = "x".repeat(200);
    for round in 0..600u64 {
        for i in 0..100u64 {
            panoptic::invoice!(log, "publish"; "seq" => round * 100 + i, "payload" => &padding);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(panoptic.flush());
    let grown = peak_rss_kib().saturating_sub(before);
    let stats = panoptic.stats();
    assert_eq!(stats.emitted, 60_001);
    assert_eq!(stats.spooled, 60_001, "{stats:?}");
    assert_eq!(stats.dropped, 0);
    assert_eq!(panoptic.spool().summary().unwrap().events, 60_001);
    eprintln!("peak resident memory grew by {grown} KiB during the outage (bound {BOUND_KIB} KiB)");
    assert!(grown < BOUND_KIB, "grew {grown} KiB");
}
