//! The guard a `#[billable]` call holds: it reads a clock at entry and, at
//! exit, hands a [`CallEvent`] to the installed handle.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::budget_hook::{BudgetExceeded, BudgetHook, Reservation, Reserved};
use crate::call_event::{CallContext, CallEvent, CallExtras};
use crate::clock::{self, Instant};
use crate::event::Outcome;
use crate::handle::{
    INSTALL_STATE, INSTALLED, NEVER_INSTALLED, NEVER_INSTALLED_WARNED, current, with_current,
};
use crate::record::active::Active;
use crate::record::amount::{IntoAmount, IntoQuantity};
use crate::record::budget_link::{self, BudgetLink, InBudget, LinkScope};
use crate::record::start_records;
use crate::site::CallSite;

/// A call in progress. Records when finished, or, if dropped unfinished,
/// as a panic (when unwinding) or a cancelled future.
#[doc(hidden)]
#[must_use]
pub struct Call {
    site: &'static CallSite,
    started: Option<Instant>,
    /// Set for synchronous calls; async ones are marked by `InSite` per poll.
    active: Option<Active>,
    /// Boxed and only when a per-call value is given: a `Call` moves through
    /// every annotated function, so it stays a few words.
    options: Option<Box<CallOptions>>,
}

#[derive(Default)]
struct CallOptions {
    logger: Option<slog::Logger>,
    extras: CallExtras,
    /// Shared with client libraries running inside a budgeted call.
    link: Option<Arc<BudgetLink>>,
}

impl Call {
    /// Starts timing a synchronous call of `site`, marking it active on
    /// this thread until it ends.
    #[inline]
    pub fn start(site: &'static CallSite) -> Call {
        let started = recording().then(clock::now);
        Call {
            site,
            started,
            active: started.map(|_| Active::enter(site)),
            options: None,
        }
    }

    /// Starts timing a call inside a future; the future is wrapped in
    /// [`InSite`] to mark it active.
    #[inline]
    pub fn start_async(site: &'static CallSite) -> Call {
        let started = recording().then(clock::now);
        Call {
            site,
            started,
            active: None,
            options: None,
        }
    }

    /// Only for a started call: one not recorded holds nothing, so that
    /// [`Call::discard`] may skip its drop.
    fn options(&mut self) -> &mut CallOptions {
        self.options.get_or_insert_with(Box::default)
    }

    /// What a per-call value is set in: nothing when the call is not
    /// recorded, so the setters neither allocate nor format then.
    fn recorded_options(&mut self) -> Option<&mut CallOptions> {
        self.started?;
        Some(self.options())
    }

    /// Sends the event through `logger` instead of the cached child logger.
    pub fn with_logger(mut self, logger: &slog::Logger) -> Call {
        if let Some(options) = self.recorded_options() {
            options.logger = Some(logger.clone());
        }
        self
    }

    /// The end user the call is for.
    pub fn with_user(mut self, user: impl fmt::Display) -> Call {
        if let Some(options) = self.recorded_options() {
            options.extras.user = Some(user.to_string());
        }
        self
    }

    /// The request the call belongs to.
    pub fn with_request_id(mut self, request_id: impl fmt::Display) -> Call {
        let lambda = self.site.is_aws_lambda();
        if let Some(options) = self.recorded_options() {
            let request_id = request_id.to_string();
            if lambda {
                // Named as the call starts: the first call of an
                // invocation holds it, whoever ends first.
                let holds = crate::record::lambda_invocation::claim(&request_id);
                options.extras.lambda_invocation = holds;
                options.extras.inside_lambda = !holds;
            }
            options.extras.request_id = Some(request_id);
        }
        self
    }

    /// How much was used (known before the call).
    pub fn with_quantity(mut self, quantity: impl IntoQuantity) -> Call {
        if let Some(options) = self.recorded_options() {
            options.extras.quantity = Some(quantity.into_quantity());
        }
        self
    }

    /// What it cost (known before the call).
    pub fn with_amount(mut self, amount: impl IntoAmount) -> Call {
        if let Some(options) = self.recorded_options() {
            options.extras.amount = amount.into_amount();
        }
        self
    }

    /// What the call will use (`usage = …`), priced from the book.
    pub fn with_usage(mut self, usage: impl Into<Option<panoptic_prices::Usage>>) -> Call {
        if let Some(options) = self.recorded_options() {
            options.extras.usage = usage.into();
        }
        self
    }

    /// Sets the usage from the return value (`usage_from = …`).
    pub fn set_usage(&mut self, usage: impl Into<Option<panoptic_prices::Usage>>) {
        if let Some(options) = self.recorded_options() {
            options.extras.usage = usage.into();
        }
    }

    /// Records the call, judging its outcome and reading the usage its
    /// return value reports only if it is being recorded. A usage given
    /// by a key wins over the return value's.
    #[inline]
    pub fn finish_metered(
        mut self,
        outcome: impl FnOnce() -> (Outcome, Option<String>),
        usage: impl FnOnce() -> Option<panoptic_prices::Usage>,
    ) {
        if self.started.is_none() {
            return self.discard();
        }
        let (outcome, error) = outcome();
        let given = self
            .options
            .as_ref()
            .is_some_and(|o| o.extras.usage.is_some());
        if !given && let Some(usage) = usage() {
            self.options().extras.usage = Some(usage);
        }
        self.record(outcome, error);
        self.discard();
    }

    /// Reserves `estimate` in `budget` before the body runs (`budget =
    /// "…"`): the one round trip to the database a call may pay. A refusal
    /// is recorded (outcome `refused`) and returned for the function to
    /// give back as its error.
    pub fn reserve(
        mut self,
        budget: &str,
        estimate: impl IntoAmount,
    ) -> Result<Call, BudgetExceeded> {
        let Some((hook, reservation)) = self.reservation(budget, estimate) else {
            return Ok(self);
        };
        let answer = match reservation {
            Ok(reservation) => hook.reserve_blocking(reservation),
            Err(refused) => Err(refused),
        };
        self.reserved(answer)
    }

    /// [`reserve`](Call::reserve) for an async call: awaits the answer.
    pub async fn reserve_async(
        mut self,
        budget: &str,
        estimate: impl IntoAmount,
    ) -> Result<Call, BudgetExceeded> {
        let Some((hook, reservation)) = self.reservation(budget, estimate) else {
            return Ok(self);
        };
        let answer = match reservation {
            Ok(reservation) => hook.reserve(reservation).await,
            Err(refused) => Err(refused),
        };
        self.reserved(answer)
    }

    /// What to ask and whom, when this call is recorded and budgets are
    /// on; or the refusal of an estimate no budget can hold: a negative
    /// one would add to what the budget has left, a NaN or infinite one
    /// has no amount (whatever the budget's mode and policy).
    fn reservation(
        &mut self,
        budget: &str,
        estimate: impl IntoAmount,
    ) -> Option<(Arc<dyn BudgetHook>, Result<Reservation, BudgetExceeded>)> {
        let hook = self.broker(budget)?;
        let not_finite = estimate.is_not_finite();
        let amount = estimate.into_amount().unwrap_or_default();
        let invalid = if not_finite {
            Some("its estimate is not a finite number".to_owned())
        } else if amount < rust_decimal::Decimal::ZERO {
            Some(format!("its estimate, {amount}, is negative"))
        } else {
            None
        };
        let reservation = match invalid {
            Some(why) => Err(BudgetExceeded {
                budget: budget.to_owned(),
                period: String::new(),
                limit: rust_decimal::Decimal::ZERO,
                committed: rust_decimal::Decimal::ZERO,
                estimate: amount,
                unavailable: Some(
                    format!("{why}; an estimate must be a finite amount of at least 0").into(),
                ),
                unanswered: false,
            }),
            None => Ok(Reservation {
                budget: budget.to_owned(),
                estimate: amount,
                currency: self.site.currency.to_owned(),
            }),
        };
        Some((hook, reservation))
    }

    fn broker(&mut self, budget: &str) -> Option<Arc<dyn BudgetHook>> {
        self.started?;
        let broker = current().and_then(|p| p.budget_hook().cloned());
        if broker.is_none() && !BUDGETS_OFF_WARNED.swap(true, Ordering::Relaxed) {
            crate::report::write_line(&format!(
                "panoptic: warning: a call asks for budget `{budget}` but budgets are off; \
                 turn them on with `.budget(…)`, `.budgets_from_database()` or PANOPTIC_BUDGETS"
            ));
        }
        broker
    }

    fn reserved(
        mut self,
        answer: Result<Reserved, BudgetExceeded>,
    ) -> Result<Call, BudgetExceeded> {
        match answer {
            Ok(reserved) => {
                if reserved.unanswered {
                    self.options().extras.budget_unanswered = Some("fail_open");
                }
                // The reservation is on record as the call's start.
                self.write_start(reserved.call_id.clone(), Some(reserved.estimate));
                if reserved.held {
                    self.options().link = Some(Arc::new(BudgetLink::new(
                        reserved.budget.clone(),
                        reserved.call_id.clone(),
                    )));
                }
                self.options().extras.reservation = Some(reserved);
                Ok(self)
            }
            Err(refused) => {
                if refused.unanswered {
                    self.options().extras.budget_unanswered = Some("fail_closed");
                }
                self.record(Outcome::Refused, Some(refused.to_string()));
                Err(refused)
            }
        }
    }

    /// Writes a start record now (`start_record`): a call that never ends
    /// (its process died) shows in `panoptic report` as an open call.
    pub fn with_start_record(mut self) -> Call {
        self.write_start_record();
        self
    }

    fn write_start_record(&mut self) {
        let already = self
            .options
            .as_ref()
            .is_some_and(|o| o.extras.call_id.is_some());
        if self.started.is_some() && !already {
            let estimate = self.options.as_ref().and_then(|o| o.extras.amount);
            self.write_start(bson::oid::ObjectId::new().to_hex(), estimate);
        }
    }

    /// Writes a start record when the installed instance asks for one on
    /// every call (`.start_records(true)`); what `#[billable]` calls
    /// without a `start_record` key or a budget do.
    #[inline]
    pub fn default_start_record(mut self) -> Call {
        // In place, so that the common path moves no `Call` around.
        if self.started.is_some() && start_records::any() {
            self.default_start_record_slow();
        }
        self
    }

    #[cold]
    #[inline(never)]
    fn default_start_record_slow(&mut self) {
        let mut on = false;
        with_current(|inner| {
            on = start_records::is_on(inner.id);
        });
        if on {
            self.write_start_record();
        }
    }

    /// The innermost budgeted `#[billable]` call running on this thread or
    /// task, if any (see [`BudgetLink`]): for client libraries that bill
    /// the call's real amount themselves.
    pub fn active_budget_call() -> Option<Arc<BudgetLink>> {
        budget_link::innermost()
    }

    /// Marks the call's budget link active for a synchronous body.
    #[doc(hidden)]
    pub fn budget_scope(&self) -> LinkScope {
        LinkScope::enter(self.options.as_ref().and_then(|o| o.link.as_ref()))
    }

    /// Marks the call's budget link active while an async body is polled.
    #[doc(hidden)]
    pub fn in_budget<F: Future>(&self, inner: F) -> InBudget<F> {
        InBudget::new(self.options.as_ref().and_then(|o| o.link.clone()), inner)
    }

    fn write_start(&mut self, call_id: String, estimate: Option<rust_decimal::Decimal>) {
        if let Some(panoptic) = current() {
            panoptic.emit_start(self.site, &call_id, estimate);
        }
        self.options().extras.call_id = Some(call_id);
    }

    /// Sets the quantity from the return value (`quantity_from = …`).
    pub fn set_quantity(&mut self, quantity: impl IntoQuantity) {
        if let Some(options) = self.recorded_options() {
            options.extras.quantity = Some(quantity.into_quantity());
        }
    }

    /// Sets the amount from the return value (`amount_from = …`).
    pub fn set_amount(&mut self, amount: impl IntoAmount) {
        if let Some(options) = self.recorded_options() {
            options.extras.amount = amount.into_amount();
        }
    }

    /// Records the call as ended with `outcome`.
    #[inline]
    pub fn finish(self, outcome: (Outcome, Option<String>)) {
        self.finish_with(|| outcome);
    }

    /// Records the call, judging its outcome only if it is being recorded.
    #[inline]
    pub fn finish_with(mut self, outcome: impl FnOnce() -> (Outcome, Option<String>)) {
        if self.started.is_none() {
            return self.discard();
        }
        let (outcome, error) = outcome();
        self.record(outcome, error);
        self.discard();
    }

    /// Ends a call that was not recorded, or was recorded (which takes
    /// everything it held). It holds nothing then (no clock read, no
    /// options, not marked active), so its drop, which would only check
    /// that, is skipped: no drop glue on the uninstalled path, and no
    /// out-of-line drop of the empty options after a recorded call (code
    /// one more page away when the call finds its memory cold).
    #[inline(always)]
    fn discard(self) {
        if self.options.is_none() && self.active.is_none() {
            std::mem::forget(self);
        }
    }

    fn record(&mut self, outcome: Outcome, error: Option<String>) {
        let sync = self.active.take().is_some();
        if self.site.is_aws_lambda() {
            let holds = self
                .options
                .as_ref()
                .is_some_and(|o| o.extras.lambda_invocation);
            if holds {
                crate::record::lambda_invocation::end();
            } else {
                // An async call's own site is on the stack while it is polled.
                let own = usize::from(!sync);
                if crate::record::active::lambda_calls_running() > own
                    || crate::record::lambda_invocation::running()
                {
                    self.options().extras.inside_lambda = true;
                }
            }
        }
        let Some(started) = self.started.take() else {
            return;
        };
        // One clock read at the end: the UTC time and the duration are
        // derived from it on the writer's thread.
        let ended = clock::now();
        if let Some(options) = &mut self.options
            && let Some(link) = &options.link
            && link.is_settled()
            && let Some(reserved) = &mut options.extras.reservation
        {
            // A record inside the call (a client's invoice) settled it at
            // the real amount: the broker leaves this budget alone, and the
            // event does not claim to settle at its estimate.
            reserved.settled = true;
            reserved.held = false;
        }
        if let Some(options) = &mut self.options
            && let Some(amount) = options.extras.amount
            && !options
                .extras
                .reservation
                .as_ref()
                .is_some_and(|r| r.settled)
            && let Some(reserved) = &mut options.extras.reservation
            && reserved.held
            && let Some(broker) = current().and_then(|p| p.budget_hook().cloned())
        {
            broker.settle(reserved.clone(), amount);
            reserved.settled = true;
        }
        // Most calls carry no options: no extras to build, compare or drop.
        let (logger, extras) = match self.options.take() {
            Some(options) => {
                let CallOptions { logger, extras, .. } = *options;
                (logger, (!extras.is_empty()).then(|| Arc::new(extras)))
            }
            None => (None, None),
        };
        let event = CallEvent {
            site: self.site,
            context: CallContext::Handle,
            ended,
            started,
            outcome,
            error: error.map(Arc::from),
            extras,
            notes: None,
        };
        with_current(|handle| handle.emit_call(event, logger));
    }
}

impl Drop for Call {
    // Inlined so that a finished (or never started) call costs one test;
    // the unfinished case is cold.
    #[inline]
    fn drop(&mut self) {
        if self.started.is_some() {
            self.record_unfinished();
        }
    }
}

impl Call {
    #[cold]
    #[inline(never)]
    fn record_unfinished(&mut self) {
        let outcome = if std::thread::panicking() {
            Outcome::Panic
        } else {
            Outcome::Cancelled
        };
        self.record(outcome, None);
    }
}

/// Whether calls are recorded: an instance was installed at some point.
/// Before that, the first call writes a warning.
#[inline(always)]
pub(crate) fn recording() -> bool {
    match INSTALL_STATE.load(Ordering::Relaxed) {
        INSTALLED => true,
        NEVER_INSTALLED => {
            warn_not_installed();
            false
        }
        _ => false,
    }
}

static BUDGETS_OFF_WARNED: AtomicBool = AtomicBool::new(false);

#[cold]
#[inline(never)]
fn warn_not_installed() {
    let first = INSTALL_STATE
        .compare_exchange(
            NEVER_INSTALLED,
            NEVER_INSTALLED_WARNED,
            Ordering::Relaxed,
            Ordering::Relaxed,
        )
        .is_ok();
    if first {
        crate::report::write_line(
            "panoptic: a #[billable] call ran with no Panoptic installed; \
             no events are recorded until `Panoptic::builder()…install()` runs",
        );
    }
}
