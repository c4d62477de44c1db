//! `#[billable]` and `billable_block!` on every function form, read back
//! from the real test database.

mod common;

use std::sync::OnceLock;
use std::time::Duration;

use bson::doc;
use futures_util::TryStreamExt;
use panoptic::{BillingEvent, Category, InstallGuard, Kind, Outcome, billable, billable_block};

/// One installed instance for this test binary (`#[billable]` uses the
/// global one); each test reads back only its own functions' events.
fn installed() -> &'static (String, InstallGuard) {
    static INSTALLED: OnceLock<(String, InstallGuard)> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let env = common::unique_env("billable");
        let guard = common::builder(&env).install().unwrap();
        (env, guard)
    })
}

/// Flushes, then every event of this run whose function_name is `name`.
async fn events_of(name: &str) -> Vec<BillingEvent> {
    let (env, guard) = installed();
    assert!(guard.flush());
    let database = common::client()
        .await
        .database(&panoptic::naming::database_name(env));
    let mut events = Vec::new();
    for collection in database.list_collection_names().await.unwrap() {
        let docs: Vec<bson::Document> = database
            .collection::<bson::Document>(&collection)
            .find(doc! { "metadata.function_name": name })
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        events.extend(docs.iter().map(|d| BillingEvent::from_document(d).unwrap()));
    }
    events
}

async fn only_event_of(name: &str) -> BillingEvent {
    let mut events = events_of(name).await;
    assert_eq!(events.len(), 1, "events of {name}: {events:#?}");
    events.remove(0)
}

#[billable(provider = "gcp", service = "BigQuery")]
fn free_function(day: u32, label: &str) -> usize {
    day as usize + label.len()
}

#[tokio::test]
async fn free_function_is_billed_under_its_identifier() {
    installed();
    assert_eq!(free_function(3, "abc"), 6);
    let e = only_event_of("free_function").await;
    assert_eq!(e.resource, "free_function");
    assert_eq!(e.metadata.qualified_name.as_deref(), Some("free_function"));
    assert_eq!(e.metadata.module_path.as_deref(), Some("billable"));
    assert_eq!(e.metadata.args_types, ["u32", "&str"]);
    assert_eq!(
        (e.provider.as_str(), e.service.as_str()),
        ("gcp", "BigQuery")
    );
    assert_eq!(e.kind, Kind::Invoice);
    assert_eq!(e.outcome, Outcome::Ok);
    assert_eq!(e.unit, "call");
    assert_eq!(e.quantity, 1.0);
    // No amount and no usage: no amount at all, and the reason, never a
    // silent zero.
    assert_eq!(e.amount, None);
    assert_eq!(
        e.metadata.unpriced(),
        Some("no amount given, and the return value reports no usage")
    );
    assert_eq!(e.username, "John Doe");
}

struct Reports {
    runs: u32,
}

impl Reports {
    #[billable(provider = "gcp", service = "BigQuery")]
    fn new_reports(runs: u32) -> Self {
        Reports { runs }
    }

    #[billable(provider = "gcp", service = "BigQuery")]
    fn daily_report(&self, day: u32) -> u32 {
        self.runs + day
    }

    #[billable(provider = "gcp", service = "BigQuery")]
    fn bump(&mut self) {
        self.runs += 1;
    }

    #[billable(provider = "gcp", service = "BigQuery")]
    fn into_runs(self) -> u32 {
        self.runs
    }
}

trait Job {
    fn run_job(&self, times: u32) -> u32;
}

impl Job for Reports {
    #[billable(provider = "aws", service = "Lambda")]
    fn run_job(&self, times: u32) -> u32 {
        self.runs * times
    }
}

#[tokio::test]
async fn methods_record_their_impl_type() {
    installed();
    let mut reports = Reports::new_reports(1);
    assert_eq!(reports.daily_report(2), 3);
    reports.bump();
    assert_eq!(reports.run_job(3), 6);
    assert_eq!(reports.into_runs(), 2);

    let e = only_event_of("daily_report").await;
    assert_eq!(e.resource, "daily_report");
    assert_eq!(
        e.metadata.qualified_name.as_deref(),
        Some("Reports::daily_report")
    );
    assert_eq!(
        e.metadata.args_types,
        ["u32"],
        "the receiver is not an argument type"
    );
    for (name, qualified) in [
        ("new_reports", "Reports::new_reports"),
        ("bump", "Reports::bump"),
        ("into_runs", "Reports::into_runs"),
        ("run_job", "<Reports as Job>::run_job"),
    ] {
        let e = only_event_of(name).await;
        assert_eq!(e.metadata.qualified_name.as_deref(), Some(qualified));
        assert_eq!(e.resource, name);
    }
    assert_eq!(only_event_of("run_job").await.provider, "aws");
}

#[billable(provider = "gcp", service = "BigQuery")]
async fn slow_query(ms: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    tokio::task::yield_now().await;
    ms
}

fn assert_send<T: Send>(value: T) -> T {
    value
}

#[tokio::test]
async fn async_fn_timing_covers_every_await_and_stays_send() {
    installed();
    let future = assert_send(slow_query(30));
    // Nothing is recorded until the future runs.
    assert!(events_of("slow_query").await.is_empty());
    assert_eq!(tokio::spawn(future).await.unwrap(), 30);
    let e = only_event_of("slow_query").await;
    assert!(e.metadata.duration_ms.unwrap() >= 30.0, "{e:?}");
    assert_eq!(e.metadata.args_types, ["u64"]);
}

#[billable(provider = "gcp", service = "CloudRun")]
async fn dropped_midway() {
    tokio::time::sleep(Duration::from_secs(60)).await;
}

#[tokio::test]
async fn a_cancelled_future_is_recorded_as_cancelled() {
    installed();
    let _ = tokio::time::timeout(Duration::from_millis(10), dropped_midway()).await;
    assert_eq!(
        only_event_of("dropped_midway").await.outcome,
        Outcome::Cancelled
    );
}

#[billable(provider = "user_defined", service = "Numbers")]
fn evens(limit: u32) -> impl Iterator<Item = u32> {
    (0..limit).filter(|n| n % 2 == 0)
}

#[billable(provider = "user_defined", service = "Numbers")]
fn largest<T>(items: &[T]) -> Option<T>
where
    T: Ord + Clone,
{
    items.iter().max().cloned()
}

#[billable(provider = "user_defined", service = "Numbers")]
fn read_raw(pointer: *const u8) -> bool {
    // `unsafe fn` forms are compiled in tests/ui/pass/function_forms.rs:
    // this package forbids unsafe code, its tests included.
    !pointer.is_null()
}

#[billable(provider = "user_defined", service = "Numbers")]
fn add_pair((a, b): (u32, u32), _: u8) -> u32 {
    a + b
}

#[must_use]
#[inline]
#[billable(provider = "user_defined", service = "Numbers")]
fn kept_attributes() -> u32 {
    7
}

#[tokio::test]
async fn impl_trait_generics_raw_pointers_patterns_and_attributes() {
    installed();
    assert_eq!(evens(7).collect::<Vec<_>>(), [0, 2, 4, 6]);
    assert_eq!(largest(&[3, 9, 2]), Some(9));
    let byte = 42u8;
    assert!(read_raw(&byte));
    assert_eq!(add_pair((2, 3), 0), 5);
    assert_eq!(kept_attributes(), 7);

    assert_eq!(only_event_of("evens").await.metadata.args_types, ["u32"]);
    assert_eq!(only_event_of("largest").await.metadata.args_types, ["&[T]"]);
    assert_eq!(
        only_event_of("read_raw").await.metadata.args_types,
        ["*const u8"]
    );
    assert_eq!(
        only_event_of("add_pair").await.metadata.args_types,
        ["(u32, u32)", "u8"]
    );
    assert_eq!(
        only_event_of("kept_attributes").await.resource,
        "kept_attributes"
    );
}

#[billable(provider = "gcp", service = "BigQuery")]
fn parse_day(text: &str) -> Result<u32, std::num::ParseIntError> {
    let day: u32 = text.trim().parse()?;
    Ok(day)
}

type Fallible<T> = Result<T, std::io::Error>;

#[billable(provider = "gcp", service = "CloudStorage")]
fn alias_error() -> Fallible<()> {
    Err(std::io::Error::other("bucket on fire"))
}

#[billable(provider = "gcp", service = "CloudStorage", err)]
fn explicit_err(ok: bool) -> Fallible<u8> {
    if ok {
        Ok(1)
    } else {
        Err(std::io::Error::other("explicit failure"))
    }
}

#[tokio::test]
async fn errors_are_recorded_and_returned_unchanged() {
    installed();
    assert_eq!(parse_day("12"), Ok(12));
    let error = parse_day("twelve").unwrap_err();
    assert_eq!(error, "x".parse::<u32>().unwrap_err());
    assert_eq!(alias_error().unwrap_err().to_string(), "bucket on fire");
    assert_eq!(explicit_err(true).unwrap(), 1);
    assert!(explicit_err(false).is_err());

    let mut events = events_of("parse_day").await;
    events.sort_by_key(|e| e.outcome.as_str());
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].outcome, Outcome::Error);
    assert_eq!(
        events[0].metadata.error.as_deref(),
        Some("invalid digit found in string")
    );
    assert_eq!(events[1].outcome, Outcome::Ok);
    assert_eq!(events[1].metadata.error, None);

    let e = only_event_of("alias_error").await;
    assert_eq!(
        (e.outcome, e.metadata.error.as_deref()),
        (Outcome::Error, Some("bucket on fire"))
    );
    let outcomes: Vec<_> = events_of("explicit_err")
        .await
        .iter()
        .map(|e| e.outcome)
        .collect();
    assert_eq!(outcomes.len(), 2);
    assert!(outcomes.contains(&Outcome::Ok) && outcomes.contains(&Outcome::Error));
}

#[billable(provider = "gcp", service = "Dataflow")]
fn explodes(reason: &str) -> u32 {
    panic!("{reason}")
}

#[tokio::test]
async fn panics_are_recorded_then_continue() {
    installed();
    let caught = std::panic::catch_unwind(|| explodes("pipeline exploded"));
    let payload = caught.unwrap_err();
    assert_eq!(
        payload.downcast_ref::<String>().map(String::as_str),
        Some("pipeline exploded")
    );
    assert_eq!(only_event_of("explodes").await.outcome, Outcome::Panic);
}

#[billable(
    provider = "openai",
    service = "ChatCompletions",
    resource = "summarize_ticket",
    unit = "tokens",
    quantity = prompt.len() * 2,
    amount = 0.0025,
    currency = "EUR",
    category = "AI",
    user = customer,
    request_id = format!("req-{ticket}"),
    tags("support", "gpt"),
    kind = "token_usage"
)]
fn keyed(customer: &str, ticket: u32, prompt: String) -> usize {
    prompt.len()
}

#[billable(
    provider = "gcp",
    service = "BigQuery",
    quantity_from = |rows: &Vec<u64>| rows.iter().sum::<u64>(),
    amount_from = |rows: &Vec<u64>| rust_decimal::Decimal::new(rows.len() as i64, 2),
    unit = "bytes"
)]
fn measured_from_return() -> Vec<u64> {
    vec![1000, 24]
}

#[tokio::test]
async fn every_key_reaches_the_document() {
    installed();
    assert_eq!(keyed("acme", 7, "hello".to_owned()), 5);
    let events = events_of("keyed").await;
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(
        e.resource, "summarize_ticket",
        "resource overrides the identifier"
    );
    assert_eq!(e.metadata.function_name.as_deref(), Some("keyed"));
    assert_eq!((e.unit.as_str(), e.quantity), ("tokens", 10.0));
    assert_eq!(e.amount.unwrap().to_string(), "0.0025");
    assert_eq!(e.metadata.priced_by(), Some("given"));
    assert_eq!(e.currency, "EUR");
    assert_eq!(e.category, Category::Ai);
    assert_eq!(e.kind, Kind::TokenUsage);
    assert_eq!(e.metadata.user.as_deref(), Some("acme"));
    assert_eq!(e.metadata.request_id.as_deref(), Some("req-7"));
    assert_eq!(e.metadata.tags, ["support", "gpt"]);
    assert_eq!(e.metadata.args_types, ["&str", "u32", "String"]);

    assert_eq!(measured_from_return(), [1000, 24]);
    let e = only_event_of("measured_from_return").await;
    assert_eq!((e.quantity, e.unit.as_str()), (1024.0, "bytes"));
    assert_eq!(e.amount.unwrap().to_string(), "0.02");
}

fn tagged_logger() -> slog::Logger {
    let panoptic = panoptic::global().unwrap();
    panoptic
        .logger(panoptic::Provider::Gcp, "BigQuery")
        .new(slog::o!("team" => "finance"))
}

#[billable(provider = "gcp", service = "BigQuery", logger = tagged_logger())]
fn with_own_logger() -> u8 {
    1
}

#[tokio::test]
async fn a_given_logger_is_used() {
    installed();
    assert_eq!(with_own_logger(), 1);
    let e = only_event_of("with_own_logger").await;
    assert_eq!(e.username, "John Doe", "context read from the given logger");
    assert_eq!(e.resource, "with_own_logger");
}

fn nightly_totals(items: u32, price: u32) -> u32 {
    let total = billable_block!(provider = "user_defined", service = "PricingService" => {
        items * price
    });
    billable_block!(provider = "user_defined", service = "PricingService", resource = "audit" => {
        let _ = total;
    });
    let twice = (0..2)
        .map(|_| billable_block!(provider = "user_defined", service = "PricingService", unit = "rows" => { 1 }))
        .sum::<u32>();
    total + twice
}

async fn async_block_owner() -> u32 {
    let future = billable_block!(provider = "gcp", service = "CloudRun" => async move {
        tokio::time::sleep(Duration::from_millis(20)).await;
        5
    });
    future.await
}

#[tokio::test]
async fn blocks_bill_under_the_enclosing_function() {
    installed();
    assert_eq!(nightly_totals(5, 10), 52);
    let events = events_of("nightly_totals").await;
    assert_eq!(events.len(), 4, "{events:#?}");
    assert_eq!(
        events
            .iter()
            .filter(|e| e.resource == "nightly_totals")
            .count(),
        3
    );
    assert_eq!(events.iter().filter(|e| e.resource == "audit").count(), 1);
    assert_eq!(events.iter().filter(|e| e.unit == "rows").count(), 2);

    assert_eq!(async_block_owner().await, 5);
    let e = only_event_of("async_block_owner").await;
    assert_eq!(e.resource, "async_block_owner");
    assert!(e.metadata.duration_ms.unwrap() >= 20.0);
}

#[billable(provider = "gcp", service = "BigQuery")]
fn outer_caller() -> Option<String> {
    panoptic::active_resource()
}

#[billable(provider = "gcp", service = "BigQuery", resource = "labelled")]
async fn outer_async_caller() -> Option<String> {
    tokio::task::yield_now().await;
    panoptic::active_resource()
}

#[tokio::test]
async fn active_resource_names_the_running_billable_call() {
    installed();
    assert_eq!(panoptic::active_resource(), None);
    assert_eq!(outer_caller().as_deref(), Some("outer_caller"));
    assert_eq!(outer_async_caller().await.as_deref(), Some("labelled"));
    assert_eq!(panoptic::active_resource(), None);
}
