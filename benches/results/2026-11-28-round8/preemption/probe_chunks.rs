//! Per chunk of live `#[billable]` calls: wall time, the calling thread's
//! CPU time, and its context switches. Built as an example (see run.sh);
//! not part of the workspace.

#[path = "../tests/common/mod.rs"]
#[allow(dead_code)]
mod common;
#[path = "../benches/workload/mod.rs"]
#[allow(dead_code)]
mod workload;
use std::hint::black_box;
fn switches() -> (u64, u64) {
    let s = std::fs::read_to_string("/proc/thread-self/status").unwrap();
    let get = |k: &str| {
        s.lines()
            .find(|l| l.starts_with(k))
            .unwrap()
            .split_whitespace()
            .nth(1)
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    (
        get("voluntary_ctxt_switches"),
        get("nonvoluntary_ctxt_switches"),
    )
}

fn main() {
    let chunk: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(32768);
    let panoptic = panoptic::Panoptic::builder()
        .username("probe")
        .env(common::unique_env("probe"))
        .mongodb_uri(common::mongodb_uri())
        .spool_dir(common::temp_dir("probe-spool"))
        .queue_capacity(65536)
        .install()
        .expect("panoptic");
    workload::billed(0);
    assert!(panoptic.flush());
    for round in 0..12 {
        let (v0, n0) = switches();
        let c0 = cpu_time::ThreadTime::now();
        let t = std::time::Instant::now();
        for i in 0..chunk {
            black_box(workload::billed(black_box(i)));
        }
        let wall = t.elapsed().as_nanos() as u64;
        let cpu = c0.elapsed().as_nanos() as u64;
        let (v1, n1) = switches();
        eprintln!(
            "round {round}: wall {} ns/call, cpu {} ns/call, vol {} invol {}",
            wall / chunk,
            cpu / chunk,
            v1 - v0,
            n1 - n0
        );
        assert!(panoptic.flush());
    }
}
