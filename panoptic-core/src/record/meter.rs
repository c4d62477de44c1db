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
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    struct Reply(u32);
    impl Metered for Reply {
        fn usage(&self) -> Option<Usage> {
            Some(Usage::new("m").with("input", Decimal::from(self.0)))
        }
    }

    #[test]
    #[allow(clippy::needless_borrow)]
    fn usage_probe_sees_values_and_oks() {
        type Fallible<T> = Result<T, String>;
        let ok: Fallible<Reply> = Ok(Reply(7));
        let usage = (&&&UsageProbe(&ok)).panoptic_usage().unwrap();
        assert_eq!(usage.quantities[0].amount, Decimal::from(7));
        let err: Fallible<Reply> = Err("no".into());
        assert!((&&&UsageProbe(&err)).panoptic_usage().is_none());
        assert!((&&&UsageProbe(&Reply(3))).panoptic_usage().is_some());
        assert!((&&&UsageProbe(&5u8)).panoptic_usage().is_none());
        let plain: Result<u8, ()> = Ok(1);
        assert!((&&&UsageProbe(&plain)).panoptic_usage().is_none());
    }
}
