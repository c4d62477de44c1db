//! The values `quantity`, `amount` and their `_from` keys accept.

use rust_decimal::Decimal;

use crate::money::{amount_from_f64, parse_amount};

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

    /// True for a number that has no amount (NaN, infinite); `None`, an
    /// amount not given, is not such a number. A budget refuses it as an
    /// estimate rather than reserve nothing for it.
    fn is_not_finite(&self) -> bool {
        false
    }
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

    fn is_not_finite(&self) -> bool {
        !self.is_finite()
    }
}

impl IntoAmount for f32 {
    fn into_amount(self) -> Option<Decimal> {
        // Through the f32's own shortest text, not its widened f64 value.
        parse_amount(&self.to_string())
    }

    fn is_not_finite(&self) -> bool {
        !self.is_finite()
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

    fn is_not_finite(&self) -> bool {
        (**self).is_not_finite()
    }
}

impl<T: IntoAmount> IntoAmount for Option<T> {
    fn into_amount(self) -> Option<Decimal> {
        self.and_then(IntoAmount::into_amount)
    }

    fn is_not_finite(&self) -> bool {
        self.as_ref().is_some_and(IntoAmount::is_not_finite)
    }
}

#[cfg(test)]
mod tests;
