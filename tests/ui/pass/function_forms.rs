//! Every function form compiles, with no warnings in the user's crate.
#![deny(warnings)]
#![deny(unused_qualifications, unused_results, unreachable_pub, trivial_casts)]

use panoptic::billable;

#[billable(provider = "gcp", service = "BigQuery")]
fn free(day: u32) -> u32 {
    day
}

#[billable(provider = "gcp", service = "BigQuery")]
fn returns_unit() {}

#[billable(provider = "gcp", service = "BigQuery")]
fn early_return(x: u32) -> u32 {
    if x > 3 {
        return 3;
    }
    x
}

#[billable(provider = "gcp", service = "BigQuery")]
fn with_question_mark(text: &str) -> Result<u32, Box<dyn std::error::Error>> {
    let n: u32 = text.parse()?;
    Ok(n)
}

#[billable(provider = "gcp", service = "BigQuery")]
fn borrowed<'a>(text: &'a str, _other: &str) -> &'a str {
    text
}

#[billable(provider = "gcp", service = "BigQuery")]
fn elided(text: &str) -> &str {
    text
}

#[billable(provider = "gcp", service = "BigQuery")]
fn evens(limit: u32) -> impl Iterator<Item = u32> {
    (0..limit).filter(|n| n % 2 == 0)
}

#[billable(provider = "gcp", service = "BigQuery")]
fn generic<T, U>(t: T, u: U) -> (U, T)
where
    T: Clone + std::fmt::Debug,
    U: Default,
{
    (u, t)
}

#[billable(provider = "gcp", service = "BigQuery")]
fn impl_arg(shown: impl std::fmt::Display) -> String {
    shown.to_string()
}

#[billable(provider = "gcp", service = "BigQuery")]
unsafe fn raw(pointer: *const u8) -> u8 {
    // SAFETY: callers pass a live pointer.
    unsafe { *pointer }
}

#[billable(provider = "gcp", service = "BigQuery")]
fn patterns((a, b): (u32, u32), _: u8, mut c: u32) -> u32 {
    c += 1;
    a + b + c
}

#[must_use]
#[inline]
#[billable(provider = "gcp", service = "BigQuery")]
fn attributes_kept() -> u32 {
    1
}

#[billable(provider = "gcp", service = "BigQuery")]
async fn async_fn(x: u32) -> Result<u32, std::io::Error> {
    std::future::ready(()).await;
    let y = u32::try_from(u64::from(x)).map_err(std::io::Error::other)?;
    Ok(y)
}

#[billable(provider = "gcp", service = "BigQuery")]
async fn async_impl_trait() -> impl std::fmt::Debug {
    5
}

#[billable(provider = "gcp", service = "BigQuery")]
async fn async_borrow(text: &str) -> usize {
    text.len()
}

#[billable(provider = "gcp", service = "BigQuery")]
extern "C" fn for_c(x: u32) -> u32 {
    x
}

struct Reports {
    runs: u32,
}

impl Reports {
    #[billable(provider = "gcp", service = "BigQuery")]
    fn new() -> Self {
        Reports { runs: 0 }
    }

    #[billable(provider = "gcp", service = "BigQuery")]
    fn by_ref(&self) -> u32 {
        self.runs
    }

    #[billable(provider = "gcp", service = "BigQuery")]
    fn by_mut(&mut self) -> &mut u32 {
        &mut self.runs
    }

    #[billable(provider = "gcp", service = "BigQuery")]
    fn by_value(self) -> u32 {
        self.runs
    }

    #[billable(provider = "gcp", service = "BigQuery")]
    fn boxed(self: Box<Self>) -> u32 {
        self.runs
    }

    #[billable(provider = "gcp", service = "BigQuery")]
    async fn async_method(&self) -> u32 {
        self.runs
    }
}

struct Wrapper<T>(T);

impl<T: Clone> Wrapper<T> {
    #[billable(provider = "gcp", service = "BigQuery")]
    fn inner(&self) -> T {
        self.0.clone()
    }
}

trait Job {
    fn run(&self) -> u32;

    #[billable(provider = "gcp", service = "BigQuery")]
    fn default_method(&self) -> u32 {
        self.run() + 1
    }
}

impl Job for Reports {
    #[billable(provider = "gcp", service = "BigQuery")]
    fn run(&self) -> u32 {
        self.runs
    }
}

fn assert_send<T: Send>(_: &T) {}

fn main() {
    let _ = free(1);
    returns_unit();
    let _ = early_return(5);
    let _ = with_question_mark("1");
    let _ = borrowed("a", "b");
    let _ = elided("a");
    let _ = evens(4).count();
    let _ = generic(1u8, 2u16);
    let _ = impl_arg(3);
    let byte = 1u8;
    // SAFETY: `byte` is alive.
    let _ = unsafe { raw(&byte) };
    let _ = patterns((1, 2), 3, 4);
    let _ = attributes_kept();
    let future = async_fn(1);
    assert_send(&future);
    drop(future);
    drop(async_impl_trait());
    drop(async_borrow("x"));
    let _ = for_c(1);
    let mut reports = Reports::new();
    let _ = reports.by_ref();
    *reports.by_mut() += 1;
    let _ = reports.run();
    let _ = reports.default_method();
    drop(reports.async_method());
    let _ = Box::new(Reports::new()).boxed();
    let _ = reports.by_value();
    let _ = Wrapper(1).inner();
}

#[billable(provider = "gcp", service = "BigQuery")]
fn only_panics() {
    panic!("diverges")
}

#[billable(provider = "gcp", service = "BigQuery")]
async fn async_only_panics() {
    panic!("diverges")
}

#[allow(dead_code)]
fn diverging_forms_are_used() {
    only_panics();
    drop(async_only_panics());
}
