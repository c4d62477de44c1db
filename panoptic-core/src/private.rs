//! What generated code calls, and nothing else. Not a public API: it changes
//! without notice. The facade re-exports this module as it is, so
//! `crate = "panoptic_core"` works as well as the default `::panoptic`.

pub use crate::event::{Category, Kind};
pub use crate::record::active::InSite;
pub use crate::record::call::Call;
pub use crate::site::{CallSite, SiteCache};
pub use panoptic_catalog::Provider;
pub use slog::RecordLocation;
pub use std::sync::OnceLock;

/// How a return value is judged (see the `probe` module of this crate).
pub mod probe {
    pub use crate::record::probe::{
        OutcomeProbe, ProbeAny, ProbeDebug, ProbeDisplay, ProbeResult, result_outcome,
    };
}

/// How a return value reports its usage (see the `meter` module).
pub mod meter {
    pub use crate::record::meter::{MeterNone, MeterOk, MeterValue, UsageProbe};
}

/// Budget reservations (`budget = "…"`).
pub mod budget {
    pub use crate::budget_hook::Refusable;
}

/// Whether calls are recorded now (one relaxed load). A synchronous
/// `#[billable]` function with nothing to evaluate at entry runs its body
/// straight away when not, holding no guard.
#[inline(always)]
pub fn recording() -> bool {
    crate::record::call::recording()
}

/// Runs the body of a synchronous `#[billable]` function.
#[inline(always)]
pub fn call_once<R>(body: impl FnOnce() -> R) -> R {
    body()
}

/// The body of a synchronous `#[billable]` function as a closure to call
/// later: built through an `FnOnce` bound so that, as with
/// [`call_once`], it may return borrows of the arguments it owns.
#[inline(always)]
pub fn body_once<R, F: FnOnce() -> R>(body: F) -> F {
    body
}

/// Applies `f` to the return value (`quantity_from`, `amount_from`),
/// giving a closure its argument type.
#[inline]
pub fn apply<R: ?Sized, T>(value: &R, f: impl FnOnce(&R) -> T) -> T {
    f(value)
}
