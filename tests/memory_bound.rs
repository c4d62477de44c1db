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

/// How much more a 10x longer outage may hold at its peak than a short
/// one: memory must not grow with the length of the outage.
const GROWTH_KIB: u64 = 4 * 1024;

/// Offers `rounds` x 100 events at 10k/s (100 events, then 10 ms).
fn outage(log: &slog::Logger, rounds: u64, first_seq: u64) {
    let padding = "x".repeat(200);
    for round in 0..rounds {
        for i in 0..100u64 {
            let seq = first_seq + round * 100 + i;
            panoptic::invoice!(log, "publish"; "seq" => seq, "payload" => &padding);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

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

    // A short outage (6,000 events), then one ten times longer.
    outage(&log, 60, 0);
    assert!(panoptic.flush());
    let short = peak_rss_kib();
    outage(&log, 600, 6_000);
    assert!(panoptic.flush());
    let long = peak_rss_kib();

    let stats = panoptic.stats();
    assert_eq!(stats.emitted, 66_001);
    assert_eq!(stats.spooled, 66_001, "{stats:?}");
    assert_eq!(stats.dropped, 0);
    assert_eq!(panoptic.spool().summary().unwrap().events, 66_001);
    let grown = long.saturating_sub(short);
    eprintln!(
        "peak resident memory: {short} KiB after 6,000 events, {long} KiB after 66,000 (+{grown} KiB; bound {GROWTH_KIB} KiB)"
    );
    assert!(
        grown < GROWTH_KIB,
        "memory grew with the outage: +{grown} KiB"
    );
}
