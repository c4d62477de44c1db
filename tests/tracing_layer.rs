//! `tracing` both ways (feature `tracing`): a program instrumented only
//! with `#[tracing::instrument]` is billed through `PanopticLayer` into the
//! real test database; `#[billable]` calls become `tracing` events when
//! the switch is on; with both on, every call is billed once.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use panoptic::tracing::PanopticLayer;
use panoptic::{BillingEvent, Category, Decimal, Kind, Outcome, billable};
use tracing::field::{Empty, Field, Visit};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

#[derive(Debug)]
struct ModelError;

impl std::fmt::Display for ModelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the model is overloaded")
    }
}

impl std::error::Error for ModelError {}

/// A chat call: usage known only after the model answered, recorded into
/// fields declared `Empty`.
#[tracing::instrument(fields(
    provider = "openai",
    service = "ChatCompletions",
    gen_ai.request.model = "gpt-4o-mini",
    gen_ai.response.model = Empty,
    gen_ai.usage.input_tokens = Empty,
    gen_ai.usage.output_tokens = Empty,
))]
fn summarize(text: &str) -> Result<String, ModelError> {
    std::thread::sleep(Duration::from_millis(25));
    let span = tracing::Span::current();
    span.record("gen_ai.response.model", "gpt-4o-mini-2024-07-18");
    span.record("gen_ai.usage.input_tokens", 1_000_u64);
    span.record("gen_ai.usage.output_tokens", 500_u64);
    Ok(text.chars().take(10).collect())
}

/// Fails: `err` makes tracing emit an ERROR event inside the span.
#[tracing::instrument(err, fields(
    provider = "openai",
    service = "ChatCompletions",
    gen_ai.request.model = "gpt-4o-mini",
    gen_ai.usage.input_tokens = Empty,
    gen_ai.usage.output_tokens = Empty,
))]
fn overloaded_summary() -> Result<String, ModelError> {
    tracing::Span::current().record("gen_ai.usage.input_tokens", 1_000_u64);
    tracing::Span::current().record("gen_ai.usage.output_tokens", 0_u64);
    Err(ModelError)
}

/// A provider the catalog does not know.
#[tracing::instrument(fields(provider = "acme_cloud", service = "Widgets", amount = 0.5))]
fn acme_widgets() -> u32 {
    3
}

/// The amount the book's per-token rates give for gpt-4o-mini on `day`,
/// computed here from its figures (not through panoptic's pricing code).
fn by_hand(input: u32, output: u32) -> Decimal {
    let today = Utc::now().date_naive();
    let figure = |component: &str| {
        panoptic::price_book()
            .figures()
            .into_iter()
            .filter(|f| {
                f.provider == "openai"
                    && f.entry == "gpt-4o-mini"
                    && f.component == component
                    && f.variant.is_none()
                    && f.region.is_none()
                    && f.effective <= today
            })
            .max_by_key(|f| f.effective)
            .unwrap_or_else(|| panic!("the book has gpt-4o-mini's {component} price"))
    };
    let (i, o) = (figure("input"), figure("output"));
    Decimal::from(input) * i.unit_price / i.per + Decimal::from(output) * o.unit_price / o.per
}

#[tokio::test(flavor = "multi_thread")]
async fn instrumented_spans_are_billed_from_the_price_book() {
    let env = common::unique_env("tracing_layer");
    let panoptic = common::builder(&env).build().unwrap();
    let subscriber =
        tracing_subscriber::registry().with(PanopticLayer::with_handle((*panoptic).clone()));
    tracing::subscriber::with_default(subscriber, || {
        assert_eq!(summarize("a long report").unwrap(), "a long rep");
        assert!(overloaded_summary().is_err());
        assert_eq!(acme_widgets(), 3);
    });
    assert!(panoptic.flush());

    let events = common::events(&env, "openai_john_doe").await;
    assert_eq!(events.len(), 2, "{events:#?}");
    let ok: &BillingEvent = common::by_resource(&events, "summarize");
    assert_eq!(ok.provider, "openai");
    assert_eq!(ok.service, "ChatCompletions");
    assert_eq!(ok.category, Category::Ai);
    assert_eq!(ok.kind, Kind::TokenUsage);
    assert_eq!(ok.outcome, Outcome::Ok);
    assert_eq!((ok.quantity, ok.unit.as_str()), (1500.0, "tokens"));
    let expected = by_hand(1_000, 500);
    assert!(expected > Decimal::ZERO);
    assert_eq!(ok.amount, Some(expected), "{ok:#?}");
    assert_eq!(ok.currency, "USD");
    assert_eq!(ok.metadata.priced_by(), Some("price_book"));
    let usage = ok.metadata.usage().expect("metadata.usage");
    assert_eq!(usage.get_i64("input").unwrap(), 1_000);
    assert_eq!(usage.get_i64("output").unwrap(), 500);
    assert_eq!(ok.metadata.function_name.as_deref(), Some("summarize"));
    let duration = ok.metadata.duration_ms.expect("a duration");
    assert!(
        (25.0..10_000.0).contains(&duration),
        "duration {duration} ms"
    );

    let failed = common::by_resource(&events, "overloaded_summary");
    assert_eq!(failed.outcome, Outcome::Error);
    assert_eq!(
        failed.metadata.error.as_deref(),
        Some("the model is overloaded")
    );
    // A failed call still used what it used.
    assert_eq!(failed.amount, Some(by_hand(1_000, 0)));

    let unknown = common::events(&env, "acme_cloud_john_doe").await;
    assert_eq!(unknown.len(), 1, "{unknown:#?}");
    let unknown = &unknown[0];
    assert_eq!(unknown.resource, "acme_widgets");
    assert_eq!(unknown.amount, None);
    let reason = unknown.metadata.unpriced().expect("metadata.unpriced");
    assert!(reason.contains("acme_cloud"), "{reason}");
    assert!(reason.contains("catalog"), "{reason}");
    // The amount the span gave is kept, exactly, where no report sums it.
    let given = match unknown.metadata.extra.get("amount_given") {
        Some(bson::Bson::Decimal128(d)) => panoptic::money::from_decimal128(*d).unwrap(),
        other => panic!("metadata.amount_given: {other:?}"),
    };
    assert_eq!(given, Decimal::new(5, 1));
}

/// Spans of an unknown service, no provider, or tokens without a model:
/// stored without an amount and with the reason, never a panic.
#[tokio::test(flavor = "multi_thread")]
async fn spans_the_catalog_cannot_price_say_why() {
    let env = common::unique_env("tracing_unpriced");
    let panoptic = common::builder(&env).build().unwrap();
    let subscriber =
        tracing_subscriber::registry().with(PanopticLayer::with_handle((*panoptic).clone()));
    tracing::subscriber::with_default(subscriber, || {
        tracing::info_span!("bad_service", provider = "gcp", service = "NoSuchService")
            .in_scope(|| {});
        tracing::info_span!(
            "no_model",
            provider = "openai",
            service = "ChatCompletions",
            gen_ai.request.model = Empty,
            gen_ai.usage.input_tokens = 10_u64
        )
        .in_scope(|| {});
        // No cost field: not billed at all.
        tracing::info_span!("plain", user = "ann").in_scope(|| {});
    });
    assert!(panoptic.flush());

    let gcp = common::events(&env, "gcp_john_doe").await;
    let bad = common::by_resource(&gcp, "bad_service");
    assert_eq!(bad.amount, None);
    let reason = bad.metadata.unpriced().unwrap();
    assert!(reason.contains("NoSuchService"), "{reason}");

    let openai = common::events(&env, "openai_john_doe").await;
    let no_model = common::by_resource(&openai, "no_model");
    assert_eq!(no_model.amount, None);
    assert!(no_model.metadata.unpriced().unwrap().contains("model"));
    assert_eq!(panoptic.stats().emitted, 2, "{:?}", panoptic.stats());
}

/// The fields of each event of target `panoptic`.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<HashMap<String, String>>>>);

impl<S: tracing::Subscriber> Layer<S> for Captured {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        if event.metadata().target() != "panoptic" {
            return;
        }
        let mut fields = FieldMap::default();
        event.record(&mut fields);
        self.0.lock().unwrap().push(fields.0);
    }
}

#[derive(Default)]
struct FieldMap(HashMap<String, String>);

impl Visit for FieldMap {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

#[billable(provider = "user_defined", service = "Lookup")]
fn lookup(key: u32) -> u32 {
    key * 2
}

#[billable(provider = "user_defined", service = "Lookup")]
fn failing_lookup() -> Result<u32, std::io::Error> {
    Err(std::io::Error::other("no such key"))
}

/// A traced chat that makes two billed calls inside its span, one failing.
#[tracing::instrument(fields(
    provider = "openai",
    service = "ChatCompletions",
    gen_ai.request.model = "gpt-4o-mini",
    gen_ai.usage.input_tokens = Empty,
    gen_ai.usage.output_tokens = Empty,
))]
fn traced_chat(n: u32) -> u32 {
    let span = tracing::Span::current();
    span.record("gen_ai.usage.input_tokens", 1_000_u64);
    span.record("gen_ai.usage.output_tokens", 500_u64);
    let _ = failing_lookup();
    lookup(n)
}

#[tokio::test(flavor = "multi_thread")]
async fn both_directions_bill_each_call_once() {
    const CALLS: u32 = 5;
    // Off by default: no tracing event from a #[billable] call.
    let env_off = common::unique_env("tracing_off");
    let captured = Captured::default();
    {
        let guard = common::builder(&env_off).install().unwrap();
        let subscriber = tracing_subscriber::registry()
            .with(PanopticLayer::new())
            .with(captured.clone());
        tracing::subscriber::with_default(subscriber, || lookup(1));
        assert!(guard.flush());
    }
    assert!(captured.0.lock().unwrap().is_empty());

    let env = common::unique_env("tracing_both");
    let guard = common::builder(&env)
        .tracing_events(true)
        .install()
        .unwrap();
    let subscriber = tracing_subscriber::registry()
        .with(PanopticLayer::new())
        .with(captured.clone());
    tracing::subscriber::with_default(subscriber, || {
        for n in 0..CALLS {
            assert_eq!(traced_chat(n), n * 2);
        }
    });
    assert!(guard.flush());

    // The reverse direction: one event per #[billable] call, its fields set.
    let seen = captured.0.lock().unwrap().clone();
    assert_eq!(seen.len(), 2 * CALLS as usize, "{seen:#?}");
    let lookups: Vec<_> = seen.iter().filter(|f| f["resource"] == "lookup").collect();
    assert_eq!(lookups.len(), CALLS as usize);
    for fields in &lookups {
        assert_eq!(fields["provider"], "user_defined");
        assert_eq!(fields["service"], "Lookup");
        assert_eq!(fields["outcome"], "ok");
        assert!(fields.contains_key("duration_ms"));
    }
    let failures: Vec<_> = seen
        .iter()
        .filter(|f| f["resource"] == "failing_lookup")
        .collect();
    assert_eq!(failures.len(), CALLS as usize);
    assert_eq!(failures[0]["outcome"], "error");
    assert_eq!(failures[0]["error"], "no such key");

    // MongoDB: each span once, each #[billable] call once, nowhere else.
    let chats = common::events(&env, "openai_john_doe").await;
    assert_eq!(chats.len(), CALLS as usize, "{chats:#?}");
    for chat in &chats {
        assert_eq!(chat.resource, "traced_chat");
        // A failed billed call inside the span does not fail the span.
        assert_eq!(chat.outcome, Outcome::Ok);
        assert_eq!(chat.amount, Some(by_hand(1_000, 500)));
    }
    let billed = common::events(&env, "user_defined_john_doe").await;
    assert_eq!(billed.len(), 2 * CALLS as usize, "{billed:#?}");
    assert_eq!(
        billed.iter().filter(|e| e.resource == "lookup").count(),
        CALLS as usize
    );
    let stats = guard.stats();
    assert_eq!(stats.emitted, 3 * u64::from(CALLS), "{stats:?}");
}
