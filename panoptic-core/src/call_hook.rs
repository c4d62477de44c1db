//! Tells an integration about each `#[billable]` call as it ends, on the
//! caller's thread (inside the caller's spans), before the event goes to
//! the writer: how `panoptic-tracing` makes each call a `tracing` event.
//!
//! Off unless a hook is given to the builder
//! ([`PanopticBuilder::call_hook`](crate::PanopticBuilder::call_hook)):
//! a call then checks one field of the handle it already holds.

use std::time::Duration;

use rust_decimal::Decimal;

use crate::call_event::CallEvent;
pub use crate::call_event::Notes;
use crate::event::Outcome;
use panoptic_catalog::Provider;
use panoptic_prices::Usage;

/// Told of every `#[billable]` call of the instance it was given to, as the
/// call ends. It runs on the caller's thread: keep it short, and never
/// block in it.
pub trait CallHook: Send + Sync + 'static {
    /// One call has ended. What it returns is added to the call's
    /// `metadata` (an exporter notes the caller's trace id there); a key
    /// panoptic sets itself is never replaced.
    fn call_ended(&self, call: &EndedCall<'_>) -> Option<Notes>;
}

/// A `#[billable]` call that has just ended, as a hook sees it. Nothing is
/// priced yet: the writer prices the call later, off this thread, so
/// [`amount`](EndedCall::amount) is only an amount the call was given.
pub struct EndedCall<'a> {
    event: &'a CallEvent,
}

impl<'a> EndedCall<'a> {
    pub(crate) fn new(event: &'a CallEvent) -> EndedCall<'a> {
        EndedCall { event }
    }

    /// The provider of the call site.
    pub fn provider(&self) -> Provider {
        self.event.site.provider
    }

    /// The service of the call site (`BigQuery`).
    pub fn service(&self) -> &'static str {
        self.event.site.service
    }

    /// What is billed: `resource = "…"`, else the function's identifier.
    pub fn resource(&self) -> &str {
        &self.event.site.names().resource
    }

    /// The annotated function's identifier.
    pub fn function_name(&self) -> &str {
        &self.event.site.names().function_name
    }

    /// `module_path!()` of the call site.
    pub fn module_path(&self) -> &'static str {
        self.event.site.location.module
    }

    /// How the call ended.
    pub fn outcome(&self) -> Outcome {
        self.event.outcome
    }

    /// The error's text, when it ended in one.
    pub fn error(&self) -> Option<&str> {
        self.event.error.as_deref()
    }

    /// How long it ran.
    pub fn duration(&self) -> Duration {
        self.event.duration()
    }

    /// The quantity given (`quantity = …`), if any.
    pub fn quantity(&self) -> Option<f64> {
        self.event.extras.as_ref().and_then(|e| e.quantity)
    }

    /// An amount the call was given (`amount = …`): the book's price is
    /// set later, by the writer.
    pub fn amount(&self) -> Option<Decimal> {
        self.event.extras.as_ref().and_then(|e| e.amount)
    }

    /// The unit of the call site (`call`, `bytes`).
    pub fn unit(&self) -> &'static str {
        self.event.site.unit
    }

    /// The currency of the call site's given amounts.
    pub fn currency(&self) -> &'static str {
        self.event.site.currency
    }

    /// The end user, when given.
    pub fn user(&self) -> Option<&str> {
        self.event.extras.as_ref().and_then(|e| e.user.as_deref())
    }

    /// The request id, when given.
    pub fn request_id(&self) -> Option<&str> {
        self.event
            .extras
            .as_ref()
            .and_then(|e| e.request_id.as_deref())
    }

    /// What the call used (given, or read from its return value).
    pub fn usage(&self) -> Option<&Usage> {
        self.event.extras.as_ref().and_then(|e| e.usage.as_ref())
    }
}
