//! Money: `rust_decimal::Decimal` in Rust, BSON `Decimal128` in MongoDB.
//!
//! bson 2 exposes Decimal128 only as its 16 IEEE 754-2008 bytes (BID
//! encoding), so the conversion lives here. A `Decimal` (96-bit coefficient,
//! scale 0..=28) always fits a Decimal128 exactly; the way back is exact for
//! every value a `Decimal` can hold and rounds (half even) beyond that.

use bson::Decimal128;
use std::str::FromStr;

use rust_decimal::Decimal;

const EXPONENT_BIAS: i32 = 6176;
const COEFFICIENT_BITS: u32 = 113;
const COEFFICIENT_MASK: u128 = (1 << COEFFICIENT_BITS) - 1;
/// Largest valid Decimal128 coefficient (10^34 - 1); larger ones are
/// non-canonical and read as zero by the standard.
const MAX_COEFFICIENT: u128 = 9_999_999_999_999_999_999_999_999_999_999_999;

/// Encodes a decimal exactly as a BSON Decimal128.
///
/// ```
/// use panoptic_core::money::{to_decimal128, from_decimal128};
/// use rust_decimal::Decimal;
/// let price: Decimal = "0.42".parse().unwrap();
/// assert_eq!(from_decimal128(to_decimal128(price)).unwrap(), price);
/// ```
pub fn to_decimal128(value: Decimal) -> Decimal128 {
    let coefficient = value.mantissa().unsigned_abs();
    let exponent = EXPONENT_BIAS - value.scale() as i32;
    let sign = u128::from(value.is_sign_negative() && coefficient != 0);
    let bits = (sign << 127) | ((exponent as u128) << COEFFICIENT_BITS) | coefficient;
    Decimal128::from_bytes(bits.to_le_bytes())
}

/// Why a Decimal128 could not become a `Decimal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Decimal128Error {
    /// Infinity or NaN: not an amount of money.
    #[error("Decimal128 is infinite or NaN")]
    NotFinite,
    /// Larger than a `Decimal` can hold (about 7.9e28).
    #[error("Decimal128 is too large for a decimal")]
    Overflow,
}

/// Decodes a BSON Decimal128 into a decimal.
///
/// ```
/// use panoptic_core::money::from_decimal128;
/// use bson::Decimal128;
/// // 6.25 as MongoDB stores it: coefficient 625, exponent -2.
/// let bits: u128 = (6174u128 << 113) | 625;
/// let value = from_decimal128(Decimal128::from_bytes(bits.to_le_bytes())).unwrap();
/// assert_eq!(value.to_string(), "6.25");
/// ```
pub fn from_decimal128(value: Decimal128) -> Result<Decimal, Decimal128Error> {
    let bits = u128::from_le_bytes(value.bytes());
    let negative = bits >> 127 == 1;
    let combination = (bits >> 125) & 0b11;
    let (exponent_bits, coefficient) = if combination == 0b11 {
        // Either infinity/NaN, or the "large coefficient" form, whose
        // coefficient is always above 10^34 - 1 and therefore zero.
        if (bits >> 123) & 0b1111 == 0b1111 {
            return Err(Decimal128Error::NotFinite);
        }
        ((bits >> 111) & 0x3fff, 0)
    } else {
        let coefficient = bits & COEFFICIENT_MASK;
        let coefficient = if coefficient > MAX_COEFFICIENT {
            0
        } else {
            coefficient
        };
        ((bits >> COEFFICIENT_BITS) & 0x3fff, coefficient)
    };
    let mut exponent = exponent_bits as i32 - EXPONENT_BIAS;
    let mut coefficient = coefficient;

    // A Decimal holds a 96-bit coefficient with a scale of 0..=28.
    const MAX_MANTISSA: u128 = (1 << 96) - 1;
    while exponent > 0 {
        if coefficient == 0 {
            exponent = 0;
            break;
        }
        coefficient = coefficient
            .checked_mul(10)
            .filter(|c| *c <= MAX_MANTISSA)
            .ok_or(Decimal128Error::Overflow)?;
        exponent -= 1;
    }
    // Drop just enough trailing digits to fit, rounding half to even.
    let mut dropped = if exponent < -28 {
        (-28 - exponent) as u32
    } else {
        0
    };
    loop {
        let quotient = divide_half_even(coefficient, dropped);
        if quotient <= MAX_MANTISSA {
            coefficient = quotient;
            break;
        }
        dropped += 1;
    }
    exponent += dropped as i32;
    if exponent > 0 {
        return Err(Decimal128Error::Overflow);
    }
    let mantissa = coefficient as i128;
    let mut decimal = Decimal::from_i128_with_scale(mantissa, (-exponent) as u32);
    decimal.set_sign_negative(negative && coefficient != 0);
    Ok(decimal)
}

/// `value / 10^digits`, rounded half to even.
fn divide_half_even(value: u128, digits: u32) -> u128 {
    if digits == 0 {
        return value;
    }
    let Some(divisor) = 10u128.checked_pow(digits) else {
        return 0;
    };
    let (quotient, remainder) = (value / divisor, value % divisor);
    let half = divisor / 2;
    let up = remainder > half || (remainder == half && quotient % 2 == 1);
    quotient + u128::from(up)
}

/// Parses an amount given as text (`"0.42"`) exactly.
pub(crate) fn parse_amount(text: &str) -> Option<Decimal> {
    Decimal::from_str(text.trim())
        .or_else(|_| Decimal::from_scientific(text.trim()))
        .ok()
}

/// An `f64` amount as the decimal it was written as: `0.42` becomes exactly
/// `0.42` (the shortest text that reads back as the same float), not
/// `0.419999…`.
pub(crate) fn amount_from_f64(value: f64) -> Option<Decimal> {
    if !value.is_finite() {
        return None;
    }
    parse_amount(&value.to_string())
}

#[cfg(test)]
mod tests;
