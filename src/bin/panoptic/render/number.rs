//! Measured numbers written as text, without float noise: a duration is
//! measured in nanoseconds and kept as milliseconds in a float, so
//! `3.796 µs` is stored as `0.0037960000000000003`; written to the
//! nanosecond it reads `0.003796` again.

/// Milliseconds to the nanosecond (six places), trailing zeros dropped:
/// `0.0037960000000000003` → `0.003796`, `12.0` → `12`. Empty for a value
/// that is not finite.
pub fn millis(value: f64) -> String {
    if !value.is_finite() {
        return String::new();
    }
    let fixed = format!("{value:.6}");
    let trimmed = fixed.trim_end_matches('0').trim_end_matches('.');
    match trimmed {
        "-0" => "0".to_owned(),
        other => other.to_owned(),
    }
}

/// An optional duration, empty when absent.
pub fn optional_millis(value: Option<f64>) -> String {
    value.map(millis).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_measured() {
        assert_eq!(millis(0.0037960000000000003), "0.003796");
        assert_eq!(millis(12.0), "12");
        assert_eq!(millis(1500.25), "1500.25");
        assert_eq!(millis(0.1 + 0.2), "0.3");
        assert_eq!(millis(-0.0000001), "0");
        assert_eq!(millis(f64::NAN), "");
        assert_eq!(optional_millis(None), "");
    }
}
