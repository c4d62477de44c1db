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

#[test]
fn tiers_counted_per_day_are_refused_not_read_as_monthly() {
    let sku: super::CatalogSku = serde_json::from_value(serde_json::json!({
        "skuId": "DDDD-0000-0001", "description": "Memory", "serviceRegions": ["us-central1"],
        "pricingInfo": [{
            "effectiveTime": "2026-10-01T00:00:00Z",
            "aggregationInfo": {"aggregationLevel": "ACCOUNT", "aggregationInterval": "DAILY", "aggregationCount": 1},
            "pricingExpression": {"usageUnit": "GiBy.s", "tieredRates": [
                {"startUsageAmount": 0, "unitPrice": {"currencyCode": "USD", "nanos": 0}},
                {"startUsageAmount": 13000, "unitPrice": {"currencyCode": "USD", "nanos": 3000}}]}
        }]
    }))
    .unwrap();
    let day = "2026-12-01".parse().unwrap();
    let error = sku.to_sku("src", day).unwrap_err().to_string();
    assert!(error.contains("DAILY"), "{error}");
    // A flat rate is the same whatever the usage is counted over.
    let mut flat = sku.clone();
    flat.pricing_info[0]
        .pricing_expression
        .tiered_rates
        .remove(0);
    assert!(flat.to_sku("src", day).is_ok());
}
