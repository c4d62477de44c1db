//! The spool at the size an outage leaves it: makes `EVENTS` calls
//! (default 1,000,000) through the real writer with MongoDB absent
//! (nothing listens on its port) into `SPOOL_DIR`, for `scripts/spool-scale`
//! to time and measure each read of it. Eight services of four providers,
//! 50 resources, durations, one call in twenty unpriced and one in fifty
//! failed; one in a thousand a `#[billable]` call with a start record, which
//! writes two events (start and final): 1,001,000 events for a million.
//!
//! Not criterion (it writes, the script measures). Run:
//! `EVENTS=1000000 SPOOL_DIR=/tmp/spool cargo bench --bench spool_scale`;
//! without `--bench` (as under `cargo test --benches`) it writes 10,000
//! events to a temporary folder and deletes them.

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use panoptic::{Overflow, Panoptic, Provider, billable, invoice};

const SERVICES: [(Provider, &str); 8] = [
    (Provider::Gcp, "BigQuery"),
    (Provider::Gcp, "CloudRun"),
    (Provider::Gcp, "CloudStorage"),
    (Provider::OpenAi, "ChatCompletions"),
    (Provider::OpenAi, "Embeddings"),
    (Provider::Aws, "S3"),
    (Provider::Aws, "Lambda"),
    (Provider::UserDefined, "Geocoding"),
];
const RESOURCES: u64 = 50;

/// A call that writes a start record before it runs.
#[billable(provider = "user_defined", service = "Work", start_record)]
fn step(i: u64) -> u64 {
    i.rotate_left(7)
}

fn number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
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
    let total = if full {
        number("EVENTS", 1_000_000)
    } else {
        10_000
    };
    let dir = match std::env::var_os("SPOOL_DIR") {
        Some(dir) if full => PathBuf::from(dir),
        _ => common::temp_dir("spool-scale"),
    };
    // A port nobody listens on: there is no MongoDB.
    let absent = format!("mongodb://127.0.0.1:{}/", common::free_port());
    let guard = Panoptic::builder()
        .username("scale")
        .project("scale")
        .env("scale")
        .mongodb_uri(absent)
        .spool_dir(&dir)
        // The disk is the limit: what a long outage leaves is what is read.
        .spool_max_bytes(u64::MAX)
        .server_timeout(Duration::from_millis(200))
        .overflow(Overflow::Spill)
        .shutdown_deadline(Duration::from_secs(600))
        .install()
        .expect("panoptic");
    let loggers: Vec<_> = SERVICES
        .iter()
        .map(|(provider, service)| guard.logger(*provider, service))
        .collect();
    let resources: Vec<String> = (0..RESOURCES).map(|r| format!("resource_{r:02}")).collect();

    let started = Instant::now();
    let mut written = 0;
    for i in 0..total {
        if i % 1_000 == 999 {
            std::hint::black_box(step(i));
            written += 2;
            continue;
        }
        let logger = &loggers[(i % SERVICES.len() as u64) as usize];
        let resource = resources[(i / 7 % RESOURCES) as usize].as_str();
        let duration_ms = (i % 997) as f64 * 0.731 + 1.0;
        let outcome = if i % 50 == 49 { "error" } else { "ok" };
        if i % 20 == 19 {
            invoice!(logger, "call"; "resource" => resource, "duration_ms" => duration_ms, "outcome" => outcome);
        } else {
            let amount = format!("0.{:06}", i % 9_973 + 1);
            invoice!(logger, "call"; "resource" => resource, "amount" => amount, "duration_ms" => duration_ms, "outcome" => outcome);
        }
        written += 1;
    }
    assert!(guard.flush(), "every event handed to the writer");
    drop(loggers);
    let stats = guard.stats();
    drop(guard);
    let elapsed = started.elapsed();
    println!(
        "spool_scale: {total} calls, {written} events written to {}",
        dir.display()
    );
    println!("spool_scale: stats {stats:?}");
    println!(
        "spool_scale: {:.1} s, {:.0} events/s, {:.1} MiB on disk",
        elapsed.as_secs_f64(),
        written as f64 / elapsed.as_secs_f64(),
        dir_bytes(&dir) as f64 / (1024.0 * 1024.0)
    );
    assert_eq!(
        stats.spooled, written,
        "every event in the spool: {stats:?}"
    );
    if !full {
        let _ = std::fs::remove_dir_all(&dir);
    }
}
