//! What the benches call, the same in each: a few arithmetic instructions,
//! bare and under each instrumentation, and the clocks they are read with.
#![allow(dead_code)]

use std::hint::black_box;
use std::time::Duration;

use fastrace::collector::{Reporter, SpanRecord};
use panoptic::billable;

/// The work every variant does: a few arithmetic instructions.
#[inline(always)]
pub fn work(x: u64) -> u64 {
    x.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17) ^ 0x5bd1_e995
}

#[inline(never)]
pub fn bare(x: u64) -> u64 {
    work(x)
}

#[billable(provider = "gcp", service = "BigQuery")]
#[inline(never)]
pub fn billed(x: u64) -> u64 {
    work(x)
}

#[tracing::instrument]
#[inline(never)]
pub fn traced(x: u64) -> u64 {
    work(x)
}

#[fastrace::trace]
#[inline(never)]
pub fn fastraced(x: u64) -> u64 {
    work(x)
}

/// CPU time of the whole process so far (every thread).
pub fn process_cpu() -> Duration {
    cpu_time::ProcessTime::now().as_duration()
}

/// The calling thread's CPU time that `run` takes.
pub fn thread_cpu(run: impl FnOnce()) -> Duration {
    let started = cpu_time::ThreadTime::now();
    run();
    started.elapsed()
}

/// A fastrace reporter that drops every span it is handed.
pub struct Discard;

impl Reporter for Discard {
    fn report(&mut self, spans: Vec<SpanRecord>) {
        black_box(spans);
    }
}
