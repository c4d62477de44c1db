//! How a return value is judged: `Result`s by their variant, anything else
//! as success. Chosen at compile time by autoref specialization, so type
//! aliases of `Result` are recognized without the macro seeing through them:
//! the call is `(&&&&OutcomeProbe(&value)).panoptic_outcome()`, and method
//! lookup tries the impl on `&&&Probe` first, then `&&Probe`, `&Probe`, `Probe`.
use crate::event::Outcome;
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

#[cfg(test)]
mod tests;
