//! Memory during an outage: peak resident memory while 1,000,000 events
//! flow through `#[billable]` with MongoDB stopped (nothing listens on its
//! port), so every event goes to the disk spool.
//!
//! The queue is the default (65,536 events, `Overflow::Spill`). The peak
//! (`VmHWM`) is read after a warm-up, after the first 100,000 events and
//! after all 1,000,000: if memory is bounded by the queue and not by the
//! length of the outage, the last two are about the same.
//!
//! Not criterion (one figure, not a timing). Run: `cargo bench --bench
//! memory` or `scripts/bench-memory`; without `--bench` (as under
//! `cargo test --benches`) it runs 10,000 events only.

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use panoptic::{Overflow, Panoptic, billable};

#[billable(provider = "gcp", service = "BigQuery")]
#[inline(never)]
fn billed(x: u64) -> u64 {
    x.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17)
}

/// A field of `/proc/self/status`, in KiB.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/self/status"))
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn dir_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let total: u64 = if full { 1_000_000 } else { 10_000 };
    let first: u64 = total / 10;
    const QUEUE: usize = 65_536;

    let spool = common::temp_dir("bench-memory");
    // A port nobody listens on: the database is stopped.
    let dead = format!("mongodb://127.0.0.1:{}/", common::free_port());
    let guard = Panoptic::builder()
        .username("bench")
        .env("bench_memory")
        .mongodb_uri(dead)
        .spool_dir(&spool)
        .server_timeout(Duration::from_millis(200))
        .queue_capacity(QUEUE)
        .overflow(Overflow::Spill)
        .shutdown_deadline(Duration::from_secs(120))
        .install()
        .expect("panoptic");

    // Warm-up: the writer finds MongoDB down and goes offline.
    for i in 0..1_000 {
        black_box(billed(black_box(i)));
    }
    assert!(guard.flush());
    let baseline = status_kib("VmHWM:");
    let started = Instant::now();

    for i in 0..first {
        black_box(billed(black_box(i)));
    }
    assert!(guard.flush());
    let after_first = status_kib("VmHWM:");

    for i in first..total {
        black_box(billed(black_box(i)));
    }
    assert!(guard.flush());
    let elapsed = started.elapsed();
    let after_all = status_kib("VmHWM:");
    let stats = guard.stats();
    let spool_bytes = dir_bytes(&spool);
    drop(guard);

    println!("memory: {total} events with MongoDB stopped, queue {QUEUE}, Overflow::Spill");
    println!("memory: stats {stats:?}");
    println!(
        "memory: peak RSS (VmHWM) after warm-up {:.1} MiB, after {first} events {:.1} MiB, after {total} events {:.1} MiB",
        mib(baseline),
        mib(after_first),
        mib(after_all)
    );
    println!(
        "memory: growth over the outage {:.1} MiB; spool on disk {:.1} MiB; {:.0} events/s to the spool",
        mib(after_all.saturating_sub(baseline)),
        spool_bytes as f64 / (1024.0 * 1024.0),
        total as f64 / elapsed.as_secs_f64()
    );
    assert_eq!(stats.emitted, total + 1_000, "{stats:?}");
    assert_eq!(stats.dropped + stats.failed, 0, "{stats:?}");
    let _ = std::fs::remove_dir_all(&spool);
}
