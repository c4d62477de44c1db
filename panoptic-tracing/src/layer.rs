//! The `tracing_subscriber::Layer`: follows the spans that carry a cost
//! and bills each one as it closes.

use std::fmt;

use panoptic_core::Panoptic;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use crate::bill::observed_call;
use crate::names::{self, TARGET, marks_cost};
use crate::span_cost::SpanCost;

/// Bills the spans that carry a cost: each such span becomes one billing
/// event when it closes.
///
/// A span carries a cost when it declares a `provider` field, or a GenAI
/// one (`gen_ai.provider.name`, `gen_ai.system`, `gen_ai.request.model`).
/// Fields are read when the span is made and each time one is recorded;
/// `tracing` drops a `record` of a field the span did not declare, so
/// declare the ones known later as `tracing::field::Empty`.
///
/// ```no_run
/// use tracing_subscriber::layer::SubscriberExt;
///
/// let _guard = panoptic_core::Panoptic::builder().username("ann").install()?;
/// let subscriber = tracing_subscriber::registry().with(panoptic_tracing::PanopticLayer::new());
/// tracing::subscriber::set_global_default(subscriber).expect("one global subscriber");
/// # Ok::<(), panoptic_core::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct PanopticLayer {
    /// `None`: the instance installed when a span closes.
    panoptic: Option<Panoptic>,
}

impl fmt::Debug for PanopticLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PanopticLayer")
            .field("panoptic", &self.panoptic)
            .finish()
    }
}

impl PanopticLayer {
    /// Bills through the instance installed at the time each span closes
    /// (nothing while none is).
    pub fn new() -> PanopticLayer {
        PanopticLayer { panoptic: None }
    }

    /// Bills through `panoptic`, installed or not.
    pub fn with_handle(panoptic: Panoptic) -> PanopticLayer {
        PanopticLayer {
            panoptic: Some(panoptic),
        }
    }
}

/// An error event inside a cost-carrying span: its message, for the
/// span's `metadata.error` when the span gives none.
#[derive(Debug)]
struct ErrorSeen(String);

impl<S> Layer<S> for PanopticLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let metadata = attrs.metadata();
        // panoptic's own target is never billed: its events already are.
        if metadata.target() == TARGET || !metadata.fields().iter().any(|f| marks_cost(f.name())) {
            return;
        }
        let Some(span) = ctx.span(id) else {
            return;
        };
        let mut cost = SpanCost::new();
        attrs.record(&mut cost);
        span.extensions_mut().insert(cost);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else {
            return;
        };
        if let Some(cost) = span.extensions_mut().get_mut::<SpanCost>() {
            values.record(cost);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let metadata = event.metadata();
        if metadata.target() == TARGET {
            return;
        }
        if *metadata.level() != Level::ERROR {
            return;
        }
        let Some(scope) = ctx.event_scope(event) else {
            return;
        };
        // The innermost span that carries a cost failed.
        for span in scope {
            let mut extensions = span.extensions_mut();
            if extensions.get_mut::<SpanCost>().is_none() {
                continue;
            }
            if extensions.get_mut::<ErrorSeen>().is_none() {
                let mut message = ErrorMessage::default();
                event.record(&mut message);
                extensions.insert(ErrorSeen(message.text()));
            }
            return;
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else {
            return;
        };
        let (cost, error) = {
            let mut extensions = span.extensions_mut();
            let Some(cost) = extensions.remove::<SpanCost>() else {
                return;
            };
            (cost, extensions.remove::<ErrorSeen>().map(|e| e.0))
        };
        let metadata = span.metadata();
        let call = observed_call(cost, metadata.name(), metadata.module_path(), error);
        match &self.panoptic {
            Some(panoptic) => panoptic.emit_observed(call),
            None => {
                if let Some(panoptic) = panoptic_core::global() {
                    panoptic.emit_observed(call);
                }
            }
        }
    }
}

/// The text of an error event: its `error` field, else its message.
#[derive(Default)]
struct ErrorMessage {
    error: Option<String>,
    message: Option<String>,
}

impl ErrorMessage {
    fn text(self) -> String {
        self.error
            .or(self.message)
            .unwrap_or_else(|| "error".to_owned())
    }
}

impl Visit for ErrorMessage {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.record_debug(field, &format_args!("{value}"));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.record_debug(field, &format_args!("{value}"));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        match field.name() {
            names::ERROR => self.error = Some(format!("{value:?}")),
            "message" => self.message = Some(format!("{value:?}")),
            _ => {}
        }
    }
}
