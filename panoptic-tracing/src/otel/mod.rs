//! OpenTelemetry export of billing events (feature `otel`): each stored
//! event as a span, its cost on a counter, a token call's tokens on
//! `gen_ai.client.token.usage`. MongoDB stays the ledger: the export sees
//! each event as the writer encodes it, and the SDK's batch processors
//! drop rather than block when the collector is down.
//!
//! The caller's trace: at the call site (on the caller's thread) the
//! active OpenTelemetry span's trace and span ids are noted in the
//! event's `metadata.trace_id` / `metadata.span_id`, so that an event can
//! be found from its trace. A call made inside a live span of this process
//! becomes an event on that span there and then (priced on the caller's
//! thread, as the writer prices it: the span may have ended by the time
//! the writer stores the call); a call inside a remote span context (no
//! live span here) is exported as a child span of it.

mod attributes;
mod otlp;
mod span_event;

use std::panic::AssertUnwindSafe;
use std::time::{Duration, SystemTime};

use opentelemetry::metrics::{Counter, Histogram, Meter, MeterProvider as _};
use opentelemetry::trace::{
    Span as _, SpanContext, SpanId, SpanKind, Status, TraceContextExt, TraceFlags, TraceId,
    TraceState, Tracer as _, TracerProvider as _,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use panoptic_core::call_hook::{CallHook, EndedCall, Notes};
use panoptic_core::export_hook::ExportHook;
use panoptic_core::keys::metadata as meta_keys;
use panoptic_core::{BillingEvent, Outcome};

pub use attributes::panoptic as attribute;
pub use otlp::OtlpError;
/// The OpenTelemetry API, SDK and OTLP exporter this export is built on
/// (the versions to build your own providers with, for [`OtelExport::new`]).
pub use {opentelemetry, opentelemetry_otlp, opentelemetry_sdk};

use attributes::{GenAi, amount_f64, event_attributes};

/// `metadata.otel_exported_as`: `span_event` when the call was exported as
/// an event on the caller's span (the writer then exports no span for it).
pub const EXPORTED_AS: &str = "otel_exported_as";
/// The name of the event a call makes on the caller's live span.
pub use span_event::EVENT_NAME;

/// The cost counter's name.
pub const COST_COUNTER: &str = "panoptic.cost";
/// The token histogram's name (GenAI conventions).
pub const TOKEN_HISTOGRAM: &str = "gen_ai.client.token.usage";

/// Exports billing events over OpenTelemetry. Give it to the builder
/// (`panoptic`'s `.otel(…)`), which installs it both as core's export hook
/// (each event, priced) and as a call hook (the caller's trace id).
///
/// ```no_run
/// let export = panoptic_tracing::otel::OtelExport::otlp_http("http://127.0.0.1:4318")?;
/// # Ok::<(), panoptic_tracing::otel::OtlpError>(())
/// ```
pub struct OtelExport {
    // The SDK's parts are not `RefUnwindSafe`; the writer catches a panic
    // around its batch. A panic inside the SDK loses at worst the spans
    // and points being handed over: an export, never the ledger.
    parts: AssertUnwindSafe<Parts>,
}

struct Parts {
    tracer: SdkTracer,
    cost: Counter<f64>,
    tokens: Histogram<u64>,
    tracer_provider: SdkTracerProvider,
    meter_provider: SdkMeterProvider,
}

impl std::fmt::Debug for OtelExport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtelExport").finish_non_exhaustive()
    }
}

impl OtelExport {
    /// Exports through the given providers (with the exporters and
    /// resource of your choice).
    pub fn new(tracer_provider: SdkTracerProvider, meter_provider: SdkMeterProvider) -> OtelExport {
        let tracer = tracer_provider.tracer("panoptic");
        let meter = meter_provider.meter("panoptic");
        let (cost, tokens) = instruments(&meter);
        OtelExport {
            parts: AssertUnwindSafe(Parts {
                tracer,
                cost,
                tokens,
                tracer_provider,
                meter_provider,
            }),
        }
    }

    /// Exports over OTLP/HTTP (protobuf) to the collector at `endpoint`
    /// (`http://host:4318`: spans to `/v1/traces`, metrics to
    /// `/v1/metrics`), service name `panoptic`, metrics every 10 s. Build
    /// it outside an async runtime's threads: its HTTP client is blocking
    /// and runs on the SDK's own export threads.
    pub fn otlp_http(endpoint: &str) -> Result<OtelExport, OtlpError> {
        otlp::providers(endpoint, Duration::from_secs(10))
            .map(|(traces, metrics)| OtelExport::new(traces, metrics))
    }

    /// [`otlp_http`](Self::otlp_http) with metrics exported every
    /// `interval`.
    pub fn otlp_http_every(endpoint: &str, interval: Duration) -> Result<OtelExport, OtlpError> {
        otlp::providers(endpoint, interval)
            .map(|(traces, metrics)| OtelExport::new(traces, metrics))
    }

    /// Exports what is pending (spans, then metrics). Returns false when an
    /// export failed (a collector down): nothing in MongoDB depends on it.
    pub fn flush(&self) -> bool {
        let spans = self.parts.tracer_provider.force_flush().is_ok();
        let metrics = self.parts.meter_provider.force_flush().is_ok();
        spans && metrics
    }

    /// Flushes and stops the exporters.
    pub fn shutdown(&self) -> bool {
        let spans = self.parts.tracer_provider.shutdown().is_ok();
        let metrics = self.parts.meter_provider.shutdown().is_ok();
        spans && metrics
    }

    fn export(&self, event: &BillingEvent) {
        let genai = GenAi::of(event);
        let attributes = event_attributes(event, genai.as_ref());
        if let Some(amount) = amount_f64(event) {
            self.parts.cost.add(
                amount,
                &[
                    KeyValue::new("provider", event.provider.clone()),
                    KeyValue::new("service", event.service.clone()),
                    KeyValue::new("resource", event.resource.clone()),
                    KeyValue::new("currency", event.currency.clone()),
                ],
            );
        }
        if let Some(genai) = &genai {
            self.record_tokens(event, genai);
        }
        if event.metadata.extra.get_str(EXPORTED_AS) == Ok("span_event") {
            // Already an event on the caller's span, made as the call ended.
            return;
        }
        let end = SystemTime::from(event.ts);
        let duration = event
            .metadata
            .duration_ms
            .filter(|ms| ms.is_finite() && *ms >= 0.0)
            .map_or(Duration::ZERO, |ms| Duration::from_secs_f64(ms / 1000.0));
        let name = match &genai {
            Some(genai) => genai.span_name(),
            None => event.resource.clone(),
        };
        let parent = caller_context(event);
        let mut span = self
            .parts
            .tracer
            .span_builder(name)
            .with_kind(SpanKind::Client)
            .with_start_time(end.checked_sub(duration).unwrap_or(end))
            .with_attributes(attributes)
            .start_with_context(&self.parts.tracer, &parent);
        if event.outcome != Outcome::Ok {
            let message = event
                .metadata
                .error
                .clone()
                .unwrap_or_else(|| event.outcome.as_str().to_owned());
            span.set_status(Status::error(message));
        }
        span.end_with_timestamp(end);
    }

    fn record_tokens(&self, event: &BillingEvent, genai: &GenAi) {
        let mut common = vec![
            KeyValue::new("gen_ai.operation.name", genai.operation),
            KeyValue::new("gen_ai.provider.name", event.provider.clone()),
        ];
        if let Some(model) = &genai.model {
            common.push(KeyValue::new("gen_ai.request.model", model.clone()));
        }
        for (kind, count) in [("input", genai.input), ("output", genai.output)] {
            let Some(count) = count.and_then(|c| u64::try_from(c).ok()) else {
                continue;
            };
            let mut attributes = common.clone();
            attributes.push(KeyValue::new("gen_ai.token.type", kind));
            self.parts.tokens.record(count, &attributes);
        }
    }
}

/// The cost counter and the token histogram.
fn instruments(meter: &Meter) -> (Counter<f64>, Histogram<u64>) {
    let cost = meter
        .f64_counter(COST_COUNTER)
        .with_description("What billed calls cost, at list price, per currency (attribute)")
        .with_unit("{currency}")
        .build();
    let tokens = meter
        .u64_histogram(TOKEN_HISTOGRAM)
        .with_description("Number of input and output tokens used")
        .with_unit("{token}")
        .with_boundaries(vec![
            1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0,
            4194304.0, 16777216.0, 67108864.0,
        ])
        .build();
    (cost, tokens)
}

/// The caller's span, as noted at the call site, as a remote parent;
/// else no parent (a root span).
fn caller_context(event: &BillingEvent) -> Context {
    let extra = &event.metadata.extra;
    let ids = extra
        .get_str(meta_keys::TRACE_ID)
        .ok()
        .and_then(|t| TraceId::from_hex(t).ok())
        .zip(
            extra
                .get_str(meta_keys::SPAN_ID)
                .ok()
                .and_then(|s| SpanId::from_hex(s).ok()),
        );
    match ids {
        Some((trace_id, span_id)) => Context::new().with_remote_span_context(SpanContext::new(
            trace_id,
            span_id,
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        )),
        None => Context::new(),
    }
}

impl ExportHook for OtelExport {
    fn encoded(&self, event: &bson::RawDocument) {
        let Ok(document) = bson::Document::try_from(event) else {
            return;
        };
        let Ok(event) = BillingEvent::from_document(&document) else {
            return;
        };
        // Start records and budget alerts are not calls.
        let extra = &event.metadata.extra;
        if extra.get_bool(meta_keys::START).unwrap_or(false)
            || extra.get_bool(meta_keys::ALERT).unwrap_or(false)
        {
            return;
        }
        self.export(&event);
    }
}

impl CallHook for OtelExport {
    fn call_ended(&self, call: &EndedCall<'_>) -> Option<Notes> {
        Context::map_current(|cx| {
            let span = cx.span();
            let context = span.span_context();
            if !context.is_valid() {
                return None;
            }
            let mut notes = vec![
                (meta_keys::TRACE_ID, context.trace_id().to_string()),
                (meta_keys::SPAN_ID, context.span_id().to_string()),
            ];
            // A live span of this process: the call is an event on it now,
            // while it is open (the writer stores the call later).
            if span.is_recording() {
                span_event::add(&span, call);
                notes.push((EXPORTED_AS, "span_event".to_owned()));
            }
            Some(notes)
        })
    }
}
