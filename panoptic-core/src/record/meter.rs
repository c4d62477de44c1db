//! What a return value reports it used, chosen at compile time by autoref
//! specialization like the outcome probe: a value that implements
//! [`Metered`], or an `Ok` holding one, gives its usage; anything else
//! none. The call is `(&&&UsageProbe(&value)).panoptic_usage()`.

use panoptic_prices::{Metered, Usage};

/// Wraps a reference to the return value.
pub struct UsageProbe<'a, T: ?Sized>(pub &'a T);

/// A value that reports its usage.
pub trait MeterValue {
    /// Its usage.
    fn panoptic_usage(&self) -> Option<Usage>;
}
impl<T: Metered + ?Sized> MeterValue for &&UsageProbe<'_, T> {
    fn panoptic_usage(&self) -> Option<Usage> {
        self.0.usage()
    }
}

/// A `Result` whose `Ok` reports its usage; an `Err` used nothing known.
pub trait MeterOk {
    /// Its usage.
    fn panoptic_usage(&self) -> Option<Usage>;
}
impl<T: Metered, E> MeterOk for &UsageProbe<'_, Result<T, E>> {
    fn panoptic_usage(&self) -> Option<Usage> {
        self.0.as_ref().ok().and_then(Metered::usage)
    }
}

/// Anything else: no usage.
pub trait MeterNone {
    /// None.
    fn panoptic_usage(&self) -> Option<Usage>;
}
impl<T: ?Sized> MeterNone for UsageProbe<'_, T> {
    #[inline(always)]
    fn panoptic_usage(&self) -> Option<Usage> {
        None
    }
}

#[cfg(test)]
mod tests;
