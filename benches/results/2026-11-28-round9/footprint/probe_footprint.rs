//! Memory a single isolated call touches: run under valgrind's lackey
//! (`--trace-mem=yes`), the accesses between the two marker loads are one
//! call. Usage: probe_footprint bare|billed|fastraced|traced
#[path = "../tests/common/mod.rs"]
#[allow(dead_code)]
mod common;
#[path = "../benches/workload/mod.rs"]
mod workload;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

static BEGIN: AtomicU64 = AtomicU64::new(0);
static END: AtomicU64 = AtomicU64::new(0);

fn main() {
    let which = std::env::args().nth(1).unwrap_or_else(|| "billed".into());
    let f: fn(u64) -> u64 = match which.as_str() {
        "bare" => workload::bare,
        "billed" => workload::billed,
        "fastraced" => workload::fastraced,
        "traced" => workload::traced,
        other => panic!("unknown {other}"),
    };
    let _guard = (which == "billed").then(|| {
        panoptic::Panoptic::builder()
            .username("probe")
            .env(common::unique_env("footprint"))
            .mongodb_uri(common::mongodb_uri())
            .spool_dir(common::temp_dir("footprint-spool"))
            .queue_capacity(65_536)
            .install()
            .expect("panoptic")
    });
    if which == "fastraced" {
        fastrace::set_reporter(workload::Discard, fastrace::collector::Config::default());
    }
    let _tracing = (which == "traced").then(|| {
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_writer(std::io::sink)
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
            .finish();
        tracing::subscriber::set_default(subscriber)
    });
    let root = fastrace::prelude::Span::root("request", fastrace::collector::SpanContext::random());
    let _parent = root.set_local_parent();
    for i in 0..1000 {
        black_box(f(black_box(i)));
    }
    if let Some(g) = &_guard {
        assert!((0..100).any(|_| g.flush()), "flush");
    }
    println!(
        "MARKERS begin={:x} end={:x} fn={:x}",
        &BEGIN as *const _ as usize, &END as *const _ as usize, f as usize
    );
    for i in 0..5 {
        std::thread::sleep(Duration::from_millis(20));
        black_box(BEGIN.load(Ordering::Relaxed));
        black_box(f(black_box(i)));
        black_box(END.load(Ordering::Relaxed));
    }
    if let Some(g) = &_guard {
        assert!((0..100).any(|_| g.flush()), "flush");
    }
}
