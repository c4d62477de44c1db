use super::*;
use proptest::prelude::*;
use std::str::FromStr;

#[test]
fn known_encodings() {
    // 1 is coefficient 1, biased exponent 6176: the bytes MongoDB writes
    // for NumberDecimal("1").
    let one = to_decimal128(Decimal::ONE);
    let bits = u128::from_le_bytes(one.bytes());
    assert_eq!(bits, (6176u128 << 113) | 1);
    let neg = to_decimal128(Decimal::from_str("-0.5").unwrap());
    let bits = u128::from_le_bytes(neg.bytes());
    assert_eq!(bits, (1u128 << 127) | (6175u128 << 113) | 5);
}

#[test]
fn rejects_infinity_and_nan() {
    let inf = Decimal128::from_bytes((0x78u128 << 120).to_le_bytes());
    assert_eq!(from_decimal128(inf), Err(Decimal128Error::NotFinite));
    let nan = Decimal128::from_bytes((0x7cu128 << 120).to_le_bytes());
    assert_eq!(from_decimal128(nan), Err(Decimal128Error::NotFinite));
}

#[test]
fn positive_exponent_and_rounding() {
    // 5E+3
    let bits = (6179u128 << 113) | 5;
    let v = from_decimal128(Decimal128::from_bytes(bits.to_le_bytes())).unwrap();
    assert_eq!(v, Decimal::from(5000));
    // 125e-30 is 1.25e-28: rounds to 1e-28.
    let bits = ((6176u128 - 30) << 113) | 125;
    let v = from_decimal128(Decimal128::from_bytes(bits.to_le_bytes())).unwrap();
    assert_eq!(
        v,
        Decimal::from_str("0.0000000000000000000000000001").unwrap()
    );
    // 175e-30 is 1.75e-28: rounds to 2e-28.
    let bits = ((6176u128 - 30) << 113) | 175;
    let v = from_decimal128(Decimal128::from_bytes(bits.to_le_bytes())).unwrap();
    assert_eq!(
        v,
        Decimal::from_str("0.0000000000000000000000000002").unwrap()
    );
}

proptest! {
    #[test]
    fn round_trips(mantissa in any::<i64>(), high in any::<u32>(), scale in 0u32..=28) {
        let m = (i128::from(high) << 64) | i128::from(mantissa as u64);
        let m = if mantissa < 0 { -m } else { m };
        let value = Decimal::from_i128_with_scale(m % (1i128 << 96), scale);
        let back = from_decimal128(to_decimal128(value)).unwrap();
        prop_assert_eq!(back, value);
        prop_assert_eq!(back.scale(), value.scale());
    }
}
