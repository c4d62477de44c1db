//! The facade's builder: core's [`panoptic_core::PanopticBuilder`] with
//! budgets on top. Core knows budgets only through its budget hook; the
//! facade is the one crate that sees both, so it is where the budget
//! setters live and where `PANOPTIC_BUDGETS` is read.

use std::panic::RefUnwindSafe;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use panoptic_budgets::{Alert, Budget, BudgetSetup};
use slog::{Drain, Never};

use crate::handle::{InstallGuard, Panoptic};
use crate::{Durability, Error, Overflow};

/// Configures a [`Panoptic`]: every setter of
/// [`panoptic_core::PanopticBuilder`] (see there what each does), plus
/// budgets.
///
/// ```no_run
/// use panoptic::budget::{Budget, Period};
/// use panoptic::{Decimal, Panoptic};
///
/// let _guard = Panoptic::builder()
///     .username("john_doe")
///     .budget(Budget::new("llm-daily", Period::Day, Decimal::from(25)))
///     .install()?;
/// # Ok::<(), panoptic::Error>(())
/// ```
#[derive(Debug, Default)]
#[must_use = "a builder does nothing until `build` or `install`"]
pub struct PanopticBuilder {
    core: panoptic_core::PanopticBuilder,
    budgets: BudgetSetup,
    /// `.tracing_events(…)`: applied when built, so the last call wins.
    #[cfg(feature = "tracing")]
    tracing_events: bool,
}

impl Panoptic {
    /// Starts configuring an instance.
    pub fn builder() -> PanopticBuilder {
        PanopticBuilder::default()
    }
}

/// Setters that pass straight to core's builder.
macro_rules! forward {
    ($($name:ident($($arg:ident: $ty:ty),*);)*) => {$(
        #[doc = concat!("See [`panoptic_core::PanopticBuilder::", stringify!($name), "`].")]
        pub fn $name(self, $($arg: $ty),*) -> Self {
            PanopticBuilder { core: self.core.$name($($arg),*), ..self }
        }
    )*};
}

impl PanopticBuilder {
    forward! {
        username(username: impl Into<String>);
        project(project: impl Into<String>);
        env(env: impl Into<String>);
        mongodb_uri(uri: impl Into<String>);
        credentials(user: impl Into<String>, password: impl Into<String>);
        log_level(level: slog::Level);
        start_records(on: bool);
        batch_size(size: usize);
        flush_interval(interval: Duration);
        queue_capacity(capacity: usize);
        server_timeout(timeout: Duration);
        operation_timeout(timeout: Duration);
        rollup_settle(settle: Duration);
        durability(durability: Durability);
        spool_max_bytes(bytes: u64);
        spool_segment_bytes(bytes: u64);
        shutdown_deadline(deadline: Duration);
        retry_interval(interval: Duration);
        spool_dir(dir: impl Into<PathBuf>);
        write_ahead(enabled: bool);
        fsync(enabled: bool);
        writer_nice(steps: u8);
        overflow(overflow: Overflow);
    }

    /// See [`panoptic_core::PanopticBuilder::drain`].
    pub fn drain<D>(self, drain: D) -> Self
    where
        D: Drain<Ok = (), Err = Never> + Send + Sync + RefUnwindSafe + 'static,
    {
        PanopticBuilder {
            core: self.core.drain(drain),
            ..self
        }
    }

    /// Every `#[billable]` call also becomes a `tracing` event as it ends
    /// (target `panoptic`, level `INFO`, the fields of
    /// [`crate::tracing::TracingEvents`]), on the caller's thread and
    /// inside its spans. Off by default; when off, a call pays nothing for
    /// it. [`crate::tracing::PanopticLayer`] never bills these events, so
    /// with both directions on each call is billed once (feature
    /// `tracing`).
    #[cfg(feature = "tracing")]
    pub fn tracing_events(mut self, on: bool) -> Self {
        self.tracing_events = on;
        self
    }

    /// Exports every billing event over OpenTelemetry through `export`
    /// (feature `otel`): as it is stored, priced, as a span, on a cost
    /// counter, and for token calls on `gen_ai.client.token.usage`. A call
    /// that ends inside a live OpenTelemetry span is an event on that span
    /// instead, and its stored event keeps the span's ids in
    /// `metadata.trace_id` / `metadata.span_id`. MongoDB stays the ledger:
    /// a collector that is down loses nothing there and never blocks a
    /// call.
    #[cfg(feature = "otel")]
    pub fn otel(self, export: std::sync::Arc<panoptic_tracing::otel::OtelExport>) -> Self {
        let core = self.core.export_hook(export.clone()).call_hook(export);
        PanopticBuilder { core, ..self }
    }

    /// Defines a budget (saved to the database, shared with every process
    /// that uses it) and turns budgets on for this handle.
    pub fn budget(mut self, budget: Budget) -> Self {
        self.budgets.define(budget);
        self
    }

    /// Turns budgets on with the definitions already in the database
    /// (`panoptic budgets set`), without defining one in code. Budgets are
    /// also on when `PANOPTIC_BUDGETS` names a file of `[[budget]]` tables.
    pub fn budgets_from_database(mut self) -> Self {
        self.budgets.from_database();
        self
    }

    /// Receives each budget alert, once per budget, period and threshold
    /// across every process.
    pub fn on_budget_alert(mut self, callback: impl Fn(&Alert) + Send + Sync + 'static) -> Self {
        self.budgets.on_alert(callback);
        self
    }

    /// The dated exchange rates that count spend in another currency than
    /// a budget's (default: the file `PANOPTIC_RATES` names, if any). A
    /// budget counts only its own currency without one: other spend is
    /// left out, and its status and alerts say how much and why.
    pub fn budget_rates(mut self, rates: panoptic_budgets::Rates) -> Self {
        self.budgets.rates(rates);
        self
    }

    /// The clock budget periods are read from (default: the system
    /// clock). For tests that cross a period boundary without waiting.
    pub fn budget_clock(
        mut self,
        clock: impl Fn() -> DateTime<Utc> + Send + Sync + 'static,
    ) -> Self {
        self.budgets.clock(clock);
        self
    }

    /// Builds the instance; see [`panoptic_core::PanopticBuilder::build`].
    /// A budget that is not valid, or a `PANOPTIC_BUDGETS` file that
    /// cannot be read, is [`Error::InvalidBudget`].
    pub fn build(self) -> Result<Panoptic, Error> {
        let start = self
            .budgets
            .into_start()
            .map_err(|e| Error::InvalidBudget(e.0))?;
        let core = match start {
            Some(start) => self.core.budget_hook(start),
            None => self.core,
        };
        #[cfg(feature = "tracing")]
        let core = if self.tracing_events {
            core.call_hook(std::sync::Arc::new(panoptic_tracing::TracingEvents))
        } else {
            core
        };
        core.build().map(Panoptic::from)
    }

    /// Builds the instance and installs it globally; see [`Panoptic::install`].
    pub fn install(self) -> Result<InstallGuard, Error> {
        Ok(self.build()?.install())
    }
}
