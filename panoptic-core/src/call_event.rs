//! One finished call, as it travels from the caller to the writer: a few
//! pointers and numbers, and slog key-values for any drain that asks.

use std::sync::Arc;
use std::time::Duration;

use rust_decimal::Decimal;
use slog::{KV, Record, Serializer};

use crate::clock::Instant;
use crate::context::Context;
use crate::event::Outcome;
use crate::keys::{self, metadata as meta_keys};
use crate::site::CallSite;

/// Values given per call (`user = …`, `quantity = …`, …) that are not static.
#[doc(hidden)]
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallExtras {
    pub quantity: Option<f64>,
    pub amount: Option<Decimal>,
    pub user: Option<String>,
    pub request_id: Option<String>,
    /// What the call used, priced by the writer from the price book.
    pub usage: Option<panoptic_prices::Usage>,
    /// An AWS Lambda call inside an invocation another call pays for:
    /// it bills neither the request fee nor GB-seconds.
    pub inside_lambda: bool,
    /// The AWS Lambda call that holds its invocation (it named the
    /// invocation's request id first).
    pub lambda_invocation: bool,
    /// Set when a start record was written: the final event carries it.
    pub call_id: Option<String>,
    /// The budget reservation the call holds.
    pub reservation: Option<crate::budget_hook::Reserved>,
    /// The policy applied when its reservation got no answer
    /// (`fail_open`, `fail_closed`): `metadata.budget_unanswered`.
    pub budget_unanswered: Option<&'static str>,
}

impl CallExtras {
    pub(crate) fn is_empty(&self) -> bool {
        *self == CallExtras::default()
    }
}

/// Whose event a call is: where the writer finds username, project, env.
#[derive(Clone)]
pub(crate) enum CallContext {
    /// Logged through the handle's own child logger: the handle's context.
    Handle,
    /// Logged through a logger the user gave: not known until the drain
    /// reads that logger's values.
    FromLogger,
    /// Read from the given logger's values.
    Given(Arc<Context>),
}

/// One finished call, on its way to the writer.
#[derive(Clone)]
pub(crate) struct CallEvent {
    pub site: &'static CallSite,
    pub context: CallContext,
    /// When the call ended; made a UTC time by the writer
    /// ([`wall_clock`](crate::clock::wall_clock)).
    pub ended: Instant,
    /// When it started: the duration is taken by the writer, off the
    /// caller's thread.
    pub started: Instant,
    pub outcome: Outcome,
    pub error: Option<Arc<str>>,
    pub extras: Option<Arc<CallExtras>>,
    /// Metadata a call hook added (the caller's trace id).
    pub notes: Option<Box<Notes>>,
}

/// Metadata fields a call hook adds to a call's event: key and text.
pub type Notes = Vec<(&'static str, String)>;

impl CallEvent {
    pub fn duration(&self) -> Duration {
        self.ended.saturating_duration_since(self.started)
    }
}

/// The same event as slog key-values, for any other drain (slog-term, a
/// JSON file): nothing is serialized unless a drain asks.
impl KV for CallEvent {
    fn serialize(&self, _record: &Record, s: &mut dyn Serializer) -> slog::Result {
        let site = self.site;
        let names = site.names();
        s.emit_str(keys::RESOURCE, &names.resource)?;
        s.emit_str(meta_keys::FUNCTION_NAME, &names.function_name)?;
        s.emit_str(meta_keys::QUALIFIED_NAME, &names.qualified_name)?;
        s.emit_str(meta_keys::MODULE_PATH, site.location.module)?;
        s.emit_str(keys::OUTCOME, self.outcome.as_str())?;
        s.emit_f64(
            meta_keys::DURATION_MS,
            self.duration().as_secs_f64() * 1000.0,
        )?;
        s.emit_str(keys::UNIT, site.unit)?;
        s.emit_str(keys::CURRENCY, site.currency)?;
        s.emit_str(keys::CATEGORY, site.category().as_str())?;
        s.emit_str(keys::PROVIDER, site.provider.as_str())?;
        s.emit_str(keys::SERVICE, site.service)?;
        s.emit_arguments(
            meta_keys::ARGS_TYPES,
            &format_args!("{}", site.args_types.join(" | ")),
        )?;
        if !site.tags.is_empty() {
            s.emit_arguments(meta_keys::TAGS, &format_args!("{}", site.tags.join(" | ")))?;
        }
        if let Some(error) = &self.error {
            s.emit_str(meta_keys::ERROR, error)?;
        }
        if let Some(extras) = &self.extras {
            if let Some(q) = extras.quantity {
                s.emit_f64(keys::QUANTITY, q)?;
            }
            if let Some(a) = extras.amount {
                s.emit_arguments(keys::AMOUNT, &format_args!("{a}"))?;
            }
            if let Some(u) = &extras.user {
                s.emit_str(meta_keys::USER, u)?;
            }
            if let Some(r) = &extras.request_id {
                s.emit_str(meta_keys::REQUEST_ID, r)?;
            }
        }
        Ok(())
    }
}
