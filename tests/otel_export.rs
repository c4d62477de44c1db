//! OpenTelemetry export (feature `otel`): a real OTLP/HTTP receiver in the
//! test, decoding with the official `opentelemetry-proto` types, receives
//! the spans and metrics of 100 `#[billable]` calls; the cost counter's
//! sum matches MongoDB's; with the receiver down, calls and MongoDB are
//! unaffected.

mod common;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::metric;
use opentelemetry_proto::tonic::trace::v1::Span;
use panoptic::tracing::otel::OtelExport;
use panoptic::tracing::otel::opentelemetry::trace::{TraceContextExt, Tracer, TracerProvider};
use panoptic::tracing::otel::opentelemetry_otlp::WithExportConfig;
use panoptic::tracing::otel::{opentelemetry_otlp, opentelemetry_sdk};
use panoptic::{BillingEvent, Decimal, Usage, billable};
use prost::Message;
use rust_decimal::prelude::ToPrimitive;

/// What the receiver was sent.
#[derive(Default)]
struct Received {
    traces: Vec<ExportTraceServiceRequest>,
    metrics: Vec<ExportMetricsServiceRequest>,
}

/// An OTLP/HTTP receiver on a free loopback port, on a runtime of its own.
fn start_receiver() -> (SocketAddr, Arc<Mutex<Received>>) {
    use axum::body::Bytes;
    use axum::routing::post;

    let received = Arc::new(Mutex::new(Received::default()));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let address = listener.local_addr().unwrap();
    let traces = Arc::clone(&received);
    let metrics = Arc::clone(&received);
    let app = axum::Router::new()
        .route(
            "/v1/traces",
            post(move |body: Bytes| async move {
                let request = ExportTraceServiceRequest::decode(body).expect("OTLP traces");
                traces.lock().unwrap().traces.push(request);
                ExportTraceServiceResponse::default().encode_to_vec()
            }),
        )
        .route(
            "/v1/metrics",
            post(move |body: Bytes| async move {
                let request = ExportMetricsServiceRequest::decode(body).expect("OTLP metrics");
                metrics.lock().unwrap().metrics.push(request);
                ExportMetricsServiceResponse::default().encode_to_vec()
            }),
        );
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    (address, received)
}

fn text(value: &Option<AnyValue>) -> Option<String> {
    match value.as_ref()?.value.as_ref()? {
        any_value::Value::StringValue(s) => Some(s.clone()),
        _ => None,
    }
}

fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a any_value::Value> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref()?.value.as_ref())
}

fn string(attributes: &[KeyValue], key: &str) -> Option<String> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| text(&kv.value))
}

fn double(attributes: &[KeyValue], key: &str) -> Option<f64> {
    match attribute(attributes, key)? {
        any_value::Value::DoubleValue(d) => Some(*d),
        _ => None,
    }
}

fn int(attributes: &[KeyValue], key: &str) -> Option<i64> {
    match attribute(attributes, key)? {
        any_value::Value::IntValue(i) => Some(*i),
        _ => None,
    }
}

/// Every span of scope `panoptic` received.
fn panoptic_spans(received: &Received) -> Vec<Span> {
    received
        .traces
        .iter()
        .flat_map(|r| &r.resource_spans)
        .flat_map(|r| &r.scope_spans)
        .filter(|s| s.scope.as_ref().is_some_and(|s| s.name == "panoptic"))
        .flat_map(|s| s.spans.clone())
        .collect()
}

/// The application's span `request`, once received.
fn app_span(received: &Received) -> Option<Span> {
    received
        .traces
        .iter()
        .flat_map(|r| &r.resource_spans)
        .flat_map(|r| &r.scope_spans)
        .filter(|s| s.scope.as_ref().is_some_and(|s| s.name == "app"))
        .flat_map(|s| s.spans.clone())
        .find(|s| s.name == "request")
}

/// The latest export of metric `name` (cumulative: the totals so far).
fn latest_metric(received: &Received, name: &str) -> Option<metric::Data> {
    received
        .metrics
        .iter()
        .flat_map(|r| &r.resource_metrics)
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics)
        .filter(|m| m.name == name)
        .filter_map(|m| m.data.clone())
        .next_back()
}

fn relative_difference(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs())
}

/// A chat call of `n` tokens in: usage priced from the book.
#[billable(provider = "openai", service = "ChatCompletions",
           usage = Usage::new("gpt-4o-mini")
               .with("input", Decimal::from(100 + n))
               .with("output", Decimal::from(n))
               .detail("input", Decimal::from(100 + n))
               .detail("output", Decimal::from(n))
               .total(Decimal::from(100 + 2 * n), "tokens"))]
fn chat(n: u32) -> u32 {
    n
}

/// A call given its amount (the response carried the cost).
#[billable(provider = "user_defined", service = "Widgets", amount = 0.0123)]
fn widget(n: u32) -> u32 {
    n
}

const CALLS: u32 = 100;
const IN_SPAN: u32 = 20;

/// `#[billable]` bills through the one installed instance: one test at a time.
static INSTALLED: Mutex<()> = Mutex::new(());

#[test]
fn billing_events_reach_a_real_otlp_receiver() {
    let _one_at_a_time = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
    let (address, received) = start_receiver();
    let export = Arc::new(
        OtelExport::otlp_http_every(&format!("http://{address}"), Duration::from_millis(200))
            .unwrap(),
    );
    let env = common::unique_env("otel");
    let guard = common::builder(&env)
        .otel(Arc::clone(&export))
        .install()
        .unwrap();

    // The application's own trace, exported to the same receiver: the last
    // calls run inside its span.
    let app_exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(format!("http://{address}/v1/traces"))
        .build()
        .unwrap();
    let app = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_batch_exporter(app_exporter)
        .build();
    let tracer = app.tracer("app");
    for n in 0..CALLS - IN_SPAN {
        if n % 2 == 0 {
            chat(n)
        } else {
            widget(n)
        };
    }
    let (trace_id, span_id) = tracer.in_span("request", |cx| {
        for n in CALLS - IN_SPAN..CALLS {
            if n % 2 == 0 {
                chat(n)
            } else {
                widget(n)
            };
        }
        let span = cx.span();
        let context = span.span_context();
        (context.trace_id(), context.span_id())
    });
    assert!(guard.flush());
    assert!(export.flush(), "the export to the receiver failed");
    assert!(app.force_flush().is_ok());

    // Every call once, in MongoDB.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut events: Vec<BillingEvent> = runtime.block_on(common::events(&env, "openai_john_doe"));
    events.extend(runtime.block_on(common::events(&env, "user_defined_john_doe")));
    assert_eq!(events.len(), CALLS as usize);
    let by_id: HashMap<String, &BillingEvent> = events.iter().map(|e| (e.id.to_hex(), e)).collect();

    // Every call once, over OTLP.
    let deadline = Instant::now() + Duration::from_secs(20);
    while (panoptic_spans(&received.lock().unwrap()).len() < (CALLS - IN_SPAN) as usize
        || app_span(&received.lock().unwrap()).is_none())
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    let received = received.lock().unwrap();
    let spans = panoptic_spans(&received);
    // The calls made outside any span: a span each.
    assert_eq!(spans.len(), (CALLS - IN_SPAN) as usize);
    let mut seen = HashSet::new();
    for span in &spans {
        let id = string(&span.attributes, "panoptic.event_id").expect("panoptic.event_id");
        assert!(seen.insert(id.clone()), "event {id} exported twice");
        let event = by_id
            .get(&id)
            .unwrap_or_else(|| panic!("{id} is not in MongoDB"));
        let amount = event.amount.expect("priced").to_f64().unwrap();
        assert_eq!(
            string(&span.attributes, "panoptic.resource").as_deref(),
            Some(event.resource.as_str())
        );
        if event.provider == "openai" {
            assert_eq!(span.name, "chat gpt-4o-mini");
            assert_eq!(
                double(&span.attributes, "gen_ai.usage.cost.amount"),
                Some(amount)
            );
            assert_eq!(
                string(&span.attributes, "gen_ai.usage.cost.currency").as_deref(),
                Some("USD")
            );
            assert_eq!(
                string(&span.attributes, "gen_ai.usage.cost.source").as_deref(),
                Some("local")
            );
            assert_eq!(
                string(&span.attributes, "gen_ai.provider.name").as_deref(),
                Some("openai")
            );
            assert_eq!(
                string(&span.attributes, "gen_ai.request.model").as_deref(),
                Some("gpt-4o-mini")
            );
            let usage = event.metadata.usage().unwrap();
            assert_eq!(
                int(&span.attributes, "gen_ai.usage.input_tokens"),
                Some(usage.get_i64("input").unwrap())
            );
            assert!(double(&span.attributes, "panoptic.cost.amount").is_none());
        } else {
            assert_eq!(
                double(&span.attributes, "panoptic.cost.amount"),
                Some(0.0123)
            );
            assert_eq!(
                string(&span.attributes, "panoptic.cost.source").as_deref(),
                Some("provider")
            );
            assert!(double(&span.attributes, "gen_ai.usage.cost.amount").is_none());
        }
        assert!(span.parent_span_id.is_empty());
        assert_eq!(event.metadata.extra.get_str("trace_id").ok(), None);
    }

    // The calls made inside the application's span: an event each on that
    // span, with the same attributes, and their events in MongoDB keep the
    // span's ids.
    let request = app_span(&received).expect("the application's span");
    assert_eq!(request.trace_id, trace_id.to_bytes());
    let in_span: Vec<&BillingEvent> = events
        .iter()
        .filter(|e| e.metadata.extra.get_str("trace_id").is_ok())
        .collect();
    assert_eq!(in_span.len(), IN_SPAN as usize);
    assert_eq!(seen.len() + in_span.len(), CALLS as usize);
    for event in &in_span {
        assert!(!seen.contains(&event.id.to_hex()), "exported twice");
        let extra = &event.metadata.extra;
        assert_eq!(extra.get_str("trace_id").unwrap(), trace_id.to_string());
        assert_eq!(extra.get_str("span_id").unwrap(), span_id.to_string());
    }
    let billing: Vec<_> = request
        .events
        .iter()
        .filter(|e| e.name == "panoptic.billing")
        .collect();
    assert_eq!(billing.len(), IN_SPAN as usize);
    let mut matched = HashSet::new();
    for span_event in &billing {
        let attributes = &span_event.attributes;
        let resource = string(attributes, "panoptic.resource").unwrap();
        // The one stored event it stands for: a chat by its input tokens.
        let event = in_span
            .iter()
            .find(|e| {
                e.resource == resource
                    && !matched.contains(&e.id)
                    && (resource != "chat"
                        || e.metadata.usage().unwrap().get_i64("input").ok()
                            == int(attributes, "gen_ai.usage.input_tokens"))
            })
            .unwrap_or_else(|| panic!("no stored event for {attributes:?}"));
        matched.insert(event.id);
        let amount = event.amount.unwrap().to_f64().unwrap();
        if resource == "chat" {
            assert_eq!(double(attributes, "gen_ai.usage.cost.amount"), Some(amount));
            assert_eq!(
                string(attributes, "gen_ai.usage.cost.source").as_deref(),
                Some("local")
            );
            assert_eq!(
                string(attributes, "gen_ai.request.model").as_deref(),
                Some("gpt-4o-mini")
            );
        } else {
            assert_eq!(double(attributes, "panoptic.cost.amount"), Some(amount));
            assert_eq!(
                string(attributes, "panoptic.cost.source").as_deref(),
                Some("provider")
            );
        }
    }
    assert_eq!(matched.len(), IN_SPAN as usize);

    // The cost counter's total is MongoDB's, within doubles' precision.
    let stored: Decimal = events.iter().filter_map(|e| e.amount).sum();
    let Some(metric::Data::Sum(sum)) = latest_metric(&received, "panoptic.cost") else {
        panic!("no panoptic.cost sum received");
    };
    let exported: f64 = sum
        .data_points
        .iter()
        .map(|p| match p.value {
            Some(opentelemetry_proto::tonic::metrics::v1::number_data_point::Value::AsDouble(
                d,
            )) => d,
            other => panic!("a cost point that is not a double: {other:?}"),
        })
        .sum();
    let stored = stored.to_f64().unwrap();
    assert!(stored > 0.0);
    assert!(
        relative_difference(exported, stored) <= 1e-9,
        "exported {exported}, stored {stored}"
    );
    for point in &sum.data_points {
        for key in ["provider", "service", "resource", "currency"] {
            assert!(string(&point.attributes, key).is_some(), "{key} missing");
        }
    }

    // Token usage: every chat call's input and output.
    let Some(metric::Data::Histogram(tokens)) =
        latest_metric(&received, "gen_ai.client.token.usage")
    else {
        panic!("no gen_ai.client.token.usage histogram received");
    };
    let expected_input: i64 = events
        .iter()
        .filter_map(|e| e.metadata.usage()?.get_i64("input").ok())
        .sum();
    let input = tokens
        .data_points
        .iter()
        .find(|p| string(&p.attributes, "gen_ai.token.type").as_deref() == Some("input"))
        .expect("input tokens");
    assert_eq!(input.count, u64::from(CALLS / 2));
    assert_eq!(input.sum, Some(expected_input as f64));
    drop(guard);
}

#[test]
fn a_collector_down_changes_nothing_for_calls_or_mongodb() {
    // Nothing listens there.
    let port = common::free_port();
    let export = Arc::new(
        OtelExport::otlp_http_every(
            &format!("http://127.0.0.1:{port}"),
            Duration::from_millis(200),
        )
        .unwrap(),
    );
    let env = common::unique_env("otel_down");
    let _one_at_a_time = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
    let guard = common::builder(&env)
        .otel(Arc::clone(&export))
        .install()
        .unwrap();
    let started = Instant::now();
    for n in 0..CALLS {
        if n % 2 == 0 {
            chat(n)
        } else {
            widget(n)
        };
    }
    let calls = started.elapsed();
    assert!(guard.flush());
    let stats = guard.stats();
    assert_eq!(stats.written, u64::from(CALLS), "{stats:?}");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut events = runtime.block_on(common::events(&env, "openai_john_doe"));
    events.extend(runtime.block_on(common::events(&env, "user_defined_john_doe")));
    assert_eq!(events.len(), CALLS as usize);
    assert!(events.iter().all(|e| e.amount.is_some()));
    assert!(calls < Duration::from_secs(1), "calls took {calls:?}");
    // The export fails, within its timeout, and says so.
    let flushing = Instant::now();
    assert!(!export.flush());
    assert!(flushing.elapsed() < Duration::from_secs(15));
}
