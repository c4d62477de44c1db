use super::*;

#[test]
fn float_amounts_are_the_written_decimal() {
    assert_eq!(0.42f64.into_amount().unwrap().to_string(), "0.42");
    assert_eq!(0.1f32.into_amount().unwrap().to_string(), "0.1");
    assert_eq!(f64::NAN.into_amount(), None);
}
