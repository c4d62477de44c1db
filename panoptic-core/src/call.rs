//! What `#[billable]` and `billable_block!` expand to at run time.
//!
//! Everything known at compile time sits in one `static` [`CallSite`] per
//! annotated function; a call only reads a clock at entry and, at exit,
//! hands a small [`CallEvent`] (pointers and numbers) to the logger. Names
//! that need the type system (`Type::method`) are worked out once per site,
//! lazily, by the background writer.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use slog::{KV, Record, Serializer};

use crate::Kind;
use crate::event::{Category, Outcome, amount_from_f64};
use panoptic_catalog::Provider;

/// Compile-time facts about one annotated function or block.
///
/// Built by the macros; the fields are public only so generated code can
/// write a `static` of it.
#[doc(hidden)]
pub struct CallSite {
    pub provider: Provider,
    pub service: &'static str,
    /// `category = "…"` when given, else the catalog's.
    pub category: Option<Category>,
    /// `resource = "…"` when given.
    pub resource: Option<&'static str>,
    /// The function's identifier as written; empty for `billable_block!`,
    /// whose enclosing function is found through `locate`.
    pub function_name: &'static str,
    /// Returns the type name of an item declared inside the annotated
    /// function, which spells the function's full path (impl type included).
    pub locate: fn() -> &'static str,
    pub args_types: &'static [&'static str],
    pub kind: Kind,
    pub unit: &'static str,
    pub currency: &'static str,
    pub tags: &'static [&'static str],
    pub location: slog::RecordLocation,
    pub names: OnceLock<SiteNames>,
    /// The child logger this site used last, so a call skips the handle's
    /// logger table.
    pub cache: SiteCache,
}

/// A call site's cached child logger, tagged with the handle it belongs to.
#[doc(hidden)]
pub struct SiteCache(pub(crate) ArcSwapOption<CachedLogger>);

impl SiteCache {
    /// Empty; filled on the first call.
    pub const fn new() -> SiteCache {
        SiteCache(ArcSwapOption::const_empty())
    }
}

impl Default for SiteCache {
    fn default() -> Self {
        SiteCache::new()
    }
}

pub(crate) struct CachedLogger {
    pub handle: u64,
    pub logger: slog::Logger,
}

/// Names of a call site resolved from its path.
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteNames {
    /// `resource`: the explicit one, else the function's identifier.
    pub resource: String,
    /// The identifier as written (for blocks: the enclosing function's).
    pub function_name: String,
    /// `Type::method` for methods, `<Type as Trait>::method` for trait
    /// methods, else the identifier.
    pub qualified_name: String,
}

impl CallSite {
    /// The names of this site, computed on first use.
    pub fn names(&self) -> &SiteNames {
        self.names.get_or_init(|| {
            let path = (self.locate)();
            resolve_names(
                path,
                self.location.module,
                self.function_name,
                self.resource,
            )
        })
    }

    /// The category: explicit, else the catalog's for provider and service.
    pub fn category(&self) -> Category {
        self.category
            .unwrap_or_else(|| self.provider.category_of(self.service))
    }
}

/// Turns `crate::m::Foo::method::__panoptic_locate` (the probe's type name)
/// into the function's names. Closures and async blocks (`{{closure}}`)
/// between the function and the probe are skipped.
pub(crate) fn resolve_names(
    probe_path: &str,
    module_path: &str,
    function_name: &str,
    resource: Option<&str>,
) -> SiteNames {
    let mut path = probe_path
        .rsplit_once("::")
        .map_or(probe_path, |(head, _)| head);
    while let Some(head) = path.strip_suffix("::{{closure}}") {
        path = head;
    }
    let qualified = path
        .strip_prefix(module_path)
        .and_then(|rest| rest.strip_prefix("::"))
        .unwrap_or(path);
    let qualified = shorten_paths(qualified);
    let last = qualified
        .rsplit("::")
        .next()
        .unwrap_or(&qualified)
        .to_owned();
    let function_name = if function_name.is_empty() {
        last
    } else {
        function_name.to_owned()
    };
    SiteNames {
        resource: resource.map_or_else(|| function_name.clone(), str::to_owned),
        qualified_name: if qualified.is_empty() {
            function_name.clone()
        } else {
            qualified
        },
        function_name,
    }
}

/// `<a::b::Foo as c::Trait>::run` → `<Foo as Trait>::run`: inside angle
/// brackets, keep only the last segment of each path.
fn shorten_paths(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut segment = String::new();
    let mut depth = 0usize;
    let mut chars = path.chars().peekable();
    while let Some(ch) = chars.next() {
        match ch {
            ':' if depth > 0 && chars.peek() == Some(&':') => {
                chars.next();
                segment.clear();
            }
            '<' | '>' | ' ' | ',' | '&' | '(' | ')' | '[' | ']' | ';' => {
                out.push_str(&segment);
                segment.clear();
                depth = match ch {
                    '<' => depth + 1,
                    '>' => depth.saturating_sub(1),
                    _ => depth,
                };
                out.push(ch);
            }
            _ => segment.push(ch),
        }
    }
    out.push_str(&segment);
    out
}

/// The UTC time of an `Instant`, against an anchor (a wall-clock and a
/// monotonic reading taken together) renewed every second, so the two
/// clocks cannot drift apart noticeably. Called by the writer, not the
/// caller, which saves every annotated call a wall-clock read.
pub(crate) fn wall_clock(at: Instant) -> DateTime<Utc> {
    static ANCHOR: std::sync::Mutex<Option<(DateTime<Utc>, Instant)>> = std::sync::Mutex::new(None);
    let mut anchor = ANCHOR
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let now = Instant::now();
    let (wall, mono) = match *anchor {
        Some((wall, mono)) if now.duration_since(mono) < Duration::from_secs(1) => (wall, mono),
        _ => {
            let fresh = (Utc::now(), now);
            *anchor = Some(fresh);
            fresh
        }
    };
    let offset = |d: Duration| chrono::Duration::from_std(d).unwrap_or_default();
    if at >= mono {
        wall + offset(at - mono)
    } else {
        wall - offset(mono - at)
    }
}

/// Values given per call (`user = …`, `quantity = …`, …) that are not static.
#[doc(hidden)]
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallExtras {
    pub quantity: Option<f64>,
    pub amount: Option<Decimal>,
    pub user: Option<String>,
    pub request_id: Option<String>,
}

impl CallExtras {
    fn is_empty(&self) -> bool {
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
    Given(Arc<crate::Context>),
}

/// One finished call, on its way to the writer.
#[derive(Clone)]
pub(crate) struct CallEvent {
    pub site: &'static CallSite,
    pub context: CallContext,
    /// When the call ended; made a UTC time by the writer ([`wall_clock`]).
    pub ended: Instant,
    pub duration: Duration,
    pub outcome: Outcome,
    pub error: Option<Arc<str>>,
    pub extras: Option<Arc<CallExtras>>,
}

/// The same event as slog key-values, for any other drain (slog-term, a
/// JSON file): nothing is serialized unless a drain asks.
impl KV for CallEvent {
    fn serialize(&self, _record: &Record, s: &mut dyn Serializer) -> slog::Result {
        let site = self.site;
        let names = site.names();
        s.emit_str("resource", &names.resource)?;
        s.emit_str("function_name", &names.function_name)?;
        s.emit_str("qualified_name", &names.qualified_name)?;
        s.emit_str("module_path", site.location.module)?;
        s.emit_str("outcome", self.outcome.as_str())?;
        s.emit_f64("duration_ms", self.duration.as_secs_f64() * 1000.0)?;
        s.emit_str("unit", site.unit)?;
        s.emit_str("currency", site.currency)?;
        s.emit_str("category", site.category().as_str())?;
        s.emit_str("provider", site.provider.as_str())?;
        s.emit_str("service", site.service)?;
        s.emit_arguments(
            "args_types",
            &format_args!("{}", site.args_types.join(" | ")),
        )?;
        if !site.tags.is_empty() {
            s.emit_arguments("tags", &format_args!("{}", site.tags.join(" | ")))?;
        }
        if let Some(error) = &self.error {
            s.emit_str("error", error)?;
        }
        if let Some(extras) = &self.extras {
            if let Some(q) = extras.quantity {
                s.emit_f64("quantity", q)?;
            }
            if let Some(a) = extras.amount {
                s.emit_arguments("amount", &format_args!("{a}"))?;
            }
            if let Some(u) = &extras.user {
                s.emit_str("user", u)?;
            }
            if let Some(r) = &extras.request_id {
                s.emit_str("requestId", r)?;
            }
        }
        Ok(())
    }
}

thread_local! {
    /// The sites of the `#[billable]` calls running on this thread,
    /// innermost last: lets a client library bill under its caller's name.
    static ACTIVE: RefCell<Vec<&'static CallSite>> = const { RefCell::new(Vec::new()) };
}

/// The resource of the innermost `#[billable]` function (or block) running
/// on this thread or task, if any. Client libraries use it to name the
/// resource of what they bill on the caller's behalf.
///
/// ```
/// assert_eq!(panoptic_core::active_resource(), None);
/// ```
pub fn active_resource() -> Option<String> {
    ACTIVE.with(|active| {
        active
            .borrow()
            .last()
            .map(|site| site.names().resource.clone())
    })
}

/// Marks `site` active on this thread until the guard drops.
struct Active;

impl Active {
    fn enter(site: &'static CallSite) -> Active {
        ACTIVE.with(|active| active.borrow_mut().push(site));
        Active
    }
}

impl Drop for Active {
    #[inline]
    fn drop(&mut self) {
        ACTIVE.with(|active| active.borrow_mut().pop());
    }
}

pin_project_lite::pin_project! {
    /// A future that marks its call site active while it is polled, on
    /// whichever thread polls it.
    #[doc(hidden)]
    pub struct InSite<F> {
        site: &'static CallSite,
        #[pin]
        inner: F,
    }
}

impl<F> InSite<F> {
    /// Wraps `inner`.
    pub fn new(site: &'static CallSite, inner: F) -> Self {
        InSite { site, inner }
    }
}

impl<F: Future> Future for InSite<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _active = Active::enter(this.site);
        this.inner.poll(cx)
    }
}

/// True once any `Panoptic` has been installed: lets an annotated call with
/// nothing installed skip everything but one relaxed load.
pub(crate) static EVER_INSTALLED: AtomicBool = AtomicBool::new(false);

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
}

impl Call {
    /// Starts timing a synchronous call of `site`, marking it active on
    /// this thread until it ends.
    #[inline]
    pub fn start(site: &'static CallSite) -> Call {
        let mut call = Call::start_async(site);
        if call.started.is_some() {
            call.active = Some(Active::enter(site));
        }
        call
    }

    /// Starts timing a call inside a future; the future is wrapped in
    /// [`InSite`] to mark it active.
    #[inline]
    pub fn start_async(site: &'static CallSite) -> Call {
        let started = if EVER_INSTALLED.load(Ordering::Relaxed) {
            Some(Instant::now())
        } else {
            if !NOT_INSTALLED_WARNED.load(Ordering::Relaxed) {
                warn_not_installed();
            }
            None
        };
        Call {
            site,
            started,
            active: None,
            options: None,
        }
    }

    fn options(&mut self) -> &mut CallOptions {
        self.options.get_or_insert_with(Box::default)
    }

    /// Sends the event through `logger` instead of the cached child logger.
    pub fn with_logger(mut self, logger: &slog::Logger) -> Call {
        self.options().logger = Some(logger.clone());
        self
    }

    /// The end user the call is for.
    pub fn with_user(mut self, user: impl fmt::Display) -> Call {
        self.options().extras.user = Some(user.to_string());
        self
    }

    /// The request the call belongs to.
    pub fn with_request_id(mut self, request_id: impl fmt::Display) -> Call {
        self.options().extras.request_id = Some(request_id.to_string());
        self
    }

    /// How much was used (known before the call).
    pub fn with_quantity(mut self, quantity: impl IntoQuantity) -> Call {
        self.options().extras.quantity = Some(quantity.into_quantity());
        self
    }

    /// What it cost (known before the call).
    pub fn with_amount(mut self, amount: impl IntoAmount) -> Call {
        self.options().extras.amount = amount.into_amount();
        self
    }

    /// Sets the quantity from the return value (`quantity_from = …`).
    pub fn set_quantity(&mut self, quantity: impl IntoQuantity) {
        self.options().extras.quantity = Some(quantity.into_quantity());
    }

    /// Sets the amount from the return value (`amount_from = …`).
    pub fn set_amount(&mut self, amount: impl IntoAmount) {
        self.options().extras.amount = amount.into_amount();
    }

    /// Records the call as ended with `outcome`.
    #[inline]
    pub fn finish(self, outcome: (Outcome, Option<String>)) {
        self.finish_with(|| outcome);
    }

    /// Records the call, judging its outcome only if it is being recorded.
    #[inline]
    pub fn finish_with(mut self, outcome: impl FnOnce() -> (Outcome, Option<String>)) {
        if self.started.is_some() {
            let (outcome, error) = outcome();
            self.record(outcome, error);
        }
    }

    fn record(&mut self, outcome: Outcome, error: Option<String>) {
        self.active = None;
        let Some(started) = self.started.take() else {
            return;
        };
        // One clock read at the end: the UTC time is derived from it later.
        let ended = Instant::now();
        let duration = ended.duration_since(started);
        let (logger, extras) = match self.options.take() {
            Some(options) => (options.logger, options.extras),
            None => (None, CallExtras::default()),
        };
        let event = CallEvent {
            site: self.site,
            context: CallContext::Handle,
            ended,
            duration,
            outcome,
            error: error.map(Arc::from),
            extras: (!extras.is_empty()).then(|| Arc::new(extras)),
        };
        crate::handle::with_current(|handle| handle.emit_call(event, logger));
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

static NOT_INSTALLED_WARNED: AtomicBool = AtomicBool::new(false);

#[cold]
fn warn_not_installed() {
    if !NOT_INSTALLED_WARNED.swap(true, Ordering::Relaxed) {
        eprintln!(
            "panoptic: a #[billable] call ran with no Panoptic installed; \
             no events are recorded until `Panoptic::builder()…install()` runs"
        );
    }
}

/// Values accepted as a quantity.
pub trait IntoQuantity {
    /// The quantity as a float (quantities are measures, not money).
    fn into_quantity(self) -> f64;
}

macro_rules! quantity_from_number {
    ($($t:ty),*) => {$(
        impl IntoQuantity for $t {
            #[allow(clippy::cast_precision_loss, clippy::cast_lossless)]
            fn into_quantity(self) -> f64 { self as f64 }
        }
    )*};
}
quantity_from_number!(
    u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, f32, f64
);

impl IntoQuantity for Decimal {
    fn into_quantity(self) -> f64 {
        use rust_decimal::prelude::ToPrimitive;
        self.to_f64().unwrap_or(f64::NAN)
    }
}

impl<T: IntoQuantity + Copy> IntoQuantity for &T {
    fn into_quantity(self) -> f64 {
        (*self).into_quantity()
    }
}

/// Values accepted as an amount of money. Floats are taken as the decimal
/// they print as (`0.42` is exactly 0.42).
pub trait IntoAmount {
    /// The amount, or `None` when it is not a finite number.
    fn into_amount(self) -> Option<Decimal>;
}

impl IntoAmount for Decimal {
    fn into_amount(self) -> Option<Decimal> {
        Some(self)
    }
}

impl IntoAmount for f64 {
    fn into_amount(self) -> Option<Decimal> {
        amount_from_f64(self)
    }
}

impl IntoAmount for f32 {
    fn into_amount(self) -> Option<Decimal> {
        // Through the f32's own shortest text, not its widened f64 value.
        crate::event::parse_amount(&self.to_string())
    }
}

macro_rules! amount_from_integer {
    ($($t:ty),*) => {$(
        impl IntoAmount for $t {
            fn into_amount(self) -> Option<Decimal> { Some(Decimal::from(self)) }
        }
    )*};
}
amount_from_integer!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize);

impl<T: IntoAmount + Copy> IntoAmount for &T {
    fn into_amount(self) -> Option<Decimal> {
        (*self).into_amount()
    }
}

impl<T: IntoAmount> IntoAmount for Option<T> {
    fn into_amount(self) -> Option<Decimal> {
        self.and_then(IntoAmount::into_amount)
    }
}

/// How a return value is judged: `Result`s by their variant, anything else
/// as success. Chosen at compile time by autoref specialization, so type
/// aliases of `Result` are recognized without the macro seeing through them:
/// the call is `(&&&&OutcomeProbe(&value)).panoptic_outcome()`, and method
/// lookup tries the impl on `&&&Probe` first, then `&&Probe`, `&Probe`, `Probe`.
#[doc(hidden)]
pub mod probe {
    use super::Outcome;
    use std::fmt::{Debug, Display};

    /// Wraps a reference to the return value.
    pub struct OutcomeProbe<'a, T: ?Sized>(pub &'a T);

    /// `Result<T, E: Display>`: the error's Display.
    pub trait ProbeDisplay {
        /// The outcome and the error text.
        fn panoptic_outcome(&self) -> (Outcome, Option<String>);
    }
    impl<T, E: Display> ProbeDisplay for &&&OutcomeProbe<'_, Result<T, E>> {
        fn panoptic_outcome(&self) -> (Outcome, Option<String>) {
            match self.0 {
                Ok(_) => (Outcome::Ok, None),
                Err(e) => (Outcome::Error, Some(e.to_string())),
            }
        }
    }

    /// `Result<T, E: Debug>`: the error's Debug.
    pub trait ProbeDebug {
        /// The outcome and the error text.
        fn panoptic_outcome(&self) -> (Outcome, Option<String>);
    }
    impl<T, E: Debug> ProbeDebug for &&OutcomeProbe<'_, Result<T, E>> {
        fn panoptic_outcome(&self) -> (Outcome, Option<String>) {
            match self.0 {
                Ok(_) => (Outcome::Ok, None),
                Err(e) => (Outcome::Error, Some(format!("{e:?}"))),
            }
        }
    }

    /// Any other `Result`: the error's type name.
    pub trait ProbeResult {
        /// The outcome and the error text.
        fn panoptic_outcome(&self) -> (Outcome, Option<String>);
    }
    impl<T, E> ProbeResult for &OutcomeProbe<'_, Result<T, E>> {
        fn panoptic_outcome(&self) -> (Outcome, Option<String>) {
            match self.0 {
                Ok(_) => (Outcome::Ok, None),
                Err(_) => (Outcome::Error, Some(std::any::type_name::<E>().to_owned())),
            }
        }
    }

    /// Anything else: success.
    pub trait ProbeAny {
        /// The outcome and the error text.
        fn panoptic_outcome(&self) -> (Outcome, Option<String>);
    }
    impl<T: ?Sized> ProbeAny for OutcomeProbe<'_, T> {
        fn panoptic_outcome(&self) -> (Outcome, Option<String>) {
            (Outcome::Ok, None)
        }
    }

    /// For `err`: the return type must be a `Result` whose error is Display.
    #[allow(clippy::needless_borrow)]
    pub fn result_outcome<T, E: Display>(value: &Result<T, E>) -> (Outcome, Option<String>) {
        (&&&&OutcomeProbe(value)).panoptic_outcome()
    }
}

#[cfg(test)]
mod tests {
    use super::probe::*;
    use super::*;

    #[test]
    fn names_from_probe_paths() {
        let n = resolve_names(
            "app::jobs::daily_report::__panoptic_locate",
            "app::jobs",
            "daily_report",
            None,
        );
        assert_eq!(n.qualified_name, "daily_report");
        assert_eq!(n.resource, "daily_report");
        let n = resolve_names(
            "app::Reports::daily::{{closure}}::__panoptic_locate",
            "app",
            "daily",
            Some("nightly"),
        );
        assert_eq!(n.qualified_name, "Reports::daily");
        assert_eq!(n.resource, "nightly");
        let n = resolve_names(
            "<app::m::Foo as app::Job>::run::__panoptic_locate",
            "app::m",
            "run",
            None,
        );
        assert_eq!(n.qualified_name, "<Foo as Job>::run");
        let n = resolve_names(
            "app::main::{{closure}}::{{closure}}::__panoptic_locate",
            "app",
            "",
            None,
        );
        assert_eq!(n.function_name, "main");
        assert_eq!(n.resource, "main");
    }

    #[test]
    #[allow(clippy::needless_borrow)]
    fn outcome_probe_sees_through_aliases() {
        type Fallible<T> = Result<T, std::io::Error>;
        let failed: Fallible<u8> = Err(std::io::Error::other("disk on fire"));
        assert_eq!(
            (&&&&OutcomeProbe(&failed)).panoptic_outcome(),
            (Outcome::Error, Some("disk on fire".to_owned()))
        );
        #[derive(Debug)]
        struct NoDisplay;
        let r: Result<(), NoDisplay> = Err(NoDisplay);
        assert_eq!(
            (&&&&OutcomeProbe(&r)).panoptic_outcome().1.as_deref(),
            Some("NoDisplay")
        );
        struct Opaque;
        let r: Result<(), Opaque> = Err(Opaque);
        assert!(
            (&&&&OutcomeProbe(&r))
                .panoptic_outcome()
                .1
                .unwrap()
                .ends_with("Opaque")
        );
        assert_eq!(
            (&&&&OutcomeProbe(&5u8)).panoptic_outcome(),
            (Outcome::Ok, None)
        );
    }

    #[test]
    fn wall_clock_of_an_instant() {
        let before = Utc::now();
        let at = Instant::now();
        let wall = wall_clock(at);
        let after = Utc::now();
        assert!(before <= wall && wall <= after, "{before} {wall} {after}");
        let earlier = wall_clock(at - Duration::from_millis(250));
        assert_eq!(wall - earlier, chrono::Duration::milliseconds(250));
    }

    #[test]
    fn float_amounts_are_the_written_decimal() {
        assert_eq!(0.42f64.into_amount().unwrap().to_string(), "0.42");
        assert_eq!(0.1f32.into_amount().unwrap().to_string(), "0.1");
        assert_eq!(f64::NAN.into_amount(), None);
    }
}
