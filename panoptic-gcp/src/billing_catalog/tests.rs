use super::Money;

#[test]
fn money_units_and_nanos_are_exact() {
    let m = |units: Option<&str>, nanos| Money {
        currency_code: "USD".into(),
        units: units.map(str::to_owned),
        nanos,
    };
    assert_eq!(
        m(None, 24_000).to_decimal().unwrap().to_string(),
        "0.000024"
    );
    assert_eq!(
        m(Some("0"), 400_000).to_decimal().unwrap().to_string(),
        "0.0004"
    );
    assert_eq!(
        m(Some("-1"), -750_000_000)
            .to_decimal()
            .unwrap()
            .to_string(),
        "-1.75"
    );
    assert!(m(Some("x"), 0).to_decimal().is_err());
}
