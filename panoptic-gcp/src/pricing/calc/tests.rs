use std::time::Duration;

use rust_decimal::Decimal;

use super::*;
use crate::pricing::RegionalPrice;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn calc() -> Calculator {
    Calculator::default().on("2026-11-26".parse().unwrap())
}

#[test]
fn one_tib_above_the_free_tier_costs_6_25() {
    let c = calc()
        .bigquery_bytes("US", TIB, FreeTier::After(d("1")))
        .unwrap();
    assert_eq!(c.amount, d("6.25"));
    assert_eq!(c.quantity, Decimal::ONE);
    assert_eq!(c.unit, "TiBy");
    // Two TiB from the month's start: the first is free.
    let c = calc()
        .bigquery_bytes("us", 2 * TIB, FreeTier::WHOLE_MONTH)
        .unwrap();
    assert_eq!(c.amount, d("6.25"));
    // Half a TiB straddling the free limit: only the quarter above it bills.
    let c = calc()
        .bigquery_bytes("eu", TIB / 2, FreeTier::After(d("0.75")))
        .unwrap();
    assert_eq!(c.amount, d("1.5625"));
    // Within the free tier: nothing.
    let c = calc()
        .bigquery_bytes("us", TIB / 4, FreeTier::WHOLE_MONTH)
        .unwrap();
    assert_eq!(c.amount, Decimal::ZERO);
}

#[test]
fn a_1_kb_query_bills_10_mb() {
    assert_eq!(bigquery_bytes_billed(1000), 10_485_760);
    assert_eq!(bigquery_bytes_billed(0), 0);
    assert_eq!(bigquery_bytes_billed(10 * MIB), 10 * MIB);
    assert_eq!(bigquery_bytes_billed(10 * MIB + 1), 11 * MIB);
    let q = QueryUsage {
        location: "US".into(),
        bytes_processed: 1000,
        ..QueryUsage::default()
    };
    let c = calc().bigquery_query(&q, FreeTier::ListPrice).unwrap();
    // 10 MiB = 10/2^20 TiB; × 6.25 = 0.000059604644775390625 exactly.
    assert_eq!(c.amount, d("0.000059604644775390625"));
    // The same read across two tables: 10 MB for each.
    let two = QueryUsage {
        referenced_tables: 2,
        ..q
    };
    assert_eq!(two.billed(), 20 * MIB);
    let c = calc().bigquery_query(&two, FreeTier::ListPrice).unwrap();
    assert_eq!(c.amount, d("0.00011920928955078125"));
    assert_eq!(bigquery_bytes_billed_with_tables(50 * MIB, 2), 50 * MIB);
    assert_eq!(bigquery_bytes_billed_with_tables(0, 2), 0);
}

#[test]
fn reported_bytes_billed_win_and_free_queries_cost_nothing() {
    let mut q = QueryUsage {
        location: "US".into(),
        bytes_processed: 5 * TIB,
        bytes_billed: Some(TIB),
        ..QueryUsage::default()
    };
    assert_eq!(
        calc()
            .bigquery_query(&q, FreeTier::ListPrice)
            .unwrap()
            .amount,
        d("6.25")
    );
    for flag in 0..3 {
        let mut free = q.clone();
        match flag {
            0 => free.cache_hit = true,
            1 => free.failed = true,
            _ => free.dry_run = true,
        }
        let c = calc().bigquery_query(&free, FreeTier::ListPrice).unwrap();
        assert_eq!(c.amount, Decimal::ZERO, "{free:?}");
    }
    q.location = "antarctica-south1".into();
    assert!(calc().bigquery_query(&q, FreeTier::ListPrice).is_err());
}

#[test]
fn three_million_function_invocations_cost_0_40() {
    let usage = FunctionsUsage::new("us-central1", 3_000_000, Duration::ZERO, 128);
    let e = calc().cloud_functions(&usage, true).unwrap();
    assert_eq!(e.line("invocations").unwrap().amount, d("0.40"));
    assert_eq!(e.total(), d("0.40"));
    // Without the free tier all 3M are billed.
    let e = calc().cloud_functions(&usage, false).unwrap();
    assert_eq!(e.line("invocations").unwrap().amount, d("1.20"));
}

#[test]
fn function_compute_time_rounds_to_100ms_and_follows_memory() {
    // 1M invocations × 130 ms → 200 ms each = 200,000 s.
    // 256 MB: 0.25 GiB × 200,000 = 50,000 GB-s × 0.0000025 = 0.125
    // 0.4 GHz × 200,000 = 80,000 GHz-s × 0.00001 = 0.80
    let usage = FunctionsUsage::new("europe-west1", 1_000_000, Duration::from_millis(130), 256);
    let e = calc().cloud_functions(&usage, false).unwrap();
    assert_eq!(e.line("memory").unwrap().quantity, d("50000"));
    assert_eq!(e.line("memory").unwrap().amount, d("0.125"));
    assert_eq!(e.line("cpu").unwrap().quantity, d("80000"));
    assert_eq!(e.line("cpu").unwrap().amount, d("0.8"));
    assert_eq!(e.line("invocations").unwrap().amount, d("0.4"));
    // With the free tier: invocations 1M < 2M, GB-s 50k < 400k, GHz-s 80k < 200k.
    assert_eq!(
        calc().cloud_functions(&usage, true).unwrap().total(),
        Decimal::ZERO
    );
    let bad = FunctionsUsage::new("us-central1", 1, Duration::ZERO, 300);
    let err = calc().cloud_functions(&bad, false).unwrap_err().to_string();
    assert!(err.contains("300") && err.contains("2048"), "{err}");
}

#[test]
fn cloud_run_rounds_up_and_applies_each_free_tier() {
    // 200,000.05 s rounds to 200,000.1 s. 2 vCPU → 400,000.2 vCPU-s;
    // free 180,000 → 220,000.2 × 0.000024 = 5.2800048.
    // 1 GiB → 200,000.1 GiB-s, under the 360,000 free.
    // 3M requests, 2M free → $0.40.
    let usage = CloudRunUsage {
        region: "us-central1".into(),
        requests: 3_000_000,
        billable_time: Duration::from_millis(200_000_050),
        vcpus: d("2"),
        memory_gib: d("1"),
    };
    let e = calc().cloud_run(&usage, true).unwrap();
    assert_eq!(e.line("cpu").unwrap().quantity, d("400000.2"));
    assert_eq!(e.line("cpu").unwrap().amount, d("5.2800048"));
    assert_eq!(e.line("memory").unwrap().amount, Decimal::ZERO);
    assert_eq!(e.line("requests").unwrap().amount, d("0.4"));
    assert_eq!(e.total(), d("5.6800048"));
    assert_eq!(e.currency, "USD");
}

#[test]
fn cloud_storage_by_class_and_location() {
    let gib = Decimal::from(1000);
    let expected = [
        (StorageClass::Standard, "20"),
        (StorageClass::Nearline, "10"),
        (StorageClass::Coldline, "4"),
        (StorageClass::Archive, "1.2"),
    ];
    for (class, amount) in expected {
        let c = calc()
            .cloud_storage(class, "us-central1", gib, false)
            .unwrap();
        assert_eq!(c.amount, d(amount), "{class}");
    }
    let c = calc()
        .cloud_storage(StorageClass::Standard, "us-east4", gib, false)
        .unwrap();
    assert_eq!(c.amount, d("23"));
    // The 5 GiB-month free tier exists in us-central1, not in europe-west1.
    let ten = Decimal::from(10);
    let c = calc()
        .cloud_storage(StorageClass::Standard, "us-central1", ten, true)
        .unwrap();
    assert_eq!(c.amount, d("0.1"));
    let c = calc()
        .cloud_storage(StorageClass::Standard, "europe-west1", ten, true)
        .unwrap();
    assert_eq!(c.amount, d("0.2"));
}

#[test]
fn unknown_class_or_location_names_the_valid_ones() {
    let err = "glacier".parse::<StorageClass>().unwrap_err().to_string();
    assert!(
        err.contains("glacier") && err.contains("NEARLINE") && err.contains("ARCHIVE"),
        "{err}"
    );
    assert_eq!(
        "COLDLINE".parse::<StorageClass>().unwrap(),
        StorageClass::Coldline
    );
    let err = calc()
        .cloud_storage(StorageClass::Archive, "moon-base1", Decimal::ONE, false)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("moon-base1") && err.contains("us-central1"),
        "{err}"
    );
}

#[test]
fn tiers_are_integrated_across_their_bounds() {
    let price = RegionalPrice {
        regions: vec!["x".into()],
        effective: "2020-01-01".parse().unwrap(),
        free_per_month: d("10"),
        tiers: vec![
            crate::pricing::Tier {
                from: d("0"),
                rate: d("1"),
                per: Decimal::ONE,
            },
            crate::pricing::Tier {
                from: d("100"),
                rate: d("0.5"),
                per: Decimal::ONE,
            },
            crate::pricing::Tier {
                from: d("1000"),
                rate: d("1"),
                per: d("10"),
            },
        ],
        source: String::new(),
        checked: "2020-01-01".parse().unwrap(),
        catalog_sku_id: None,
    };
    // 0..1100 from month start: free 0..10, 90 × 1, 900 × 0.5, 100 × 0.1.
    assert_eq!(
        tiered_cost(&price, d("1100"), FreeTier::WHOLE_MONTH),
        d("550")
    );
    // List price: 100 × 1 + 900 × 0.5 + 100 × 0.1.
    assert_eq!(
        tiered_cost(&price, d("1100"), FreeTier::ListPrice),
        d("560")
    );
    // 50 more after 980 used: 20 × 0.5 + 30 × 0.1.
    assert_eq!(
        tiered_cost(&price, d("50"), FreeTier::After(d("980"))),
        d("13")
    );
    assert_eq!(seconds_rounded_up_100ms(Duration::from_millis(1)), d("0.1"));
    assert_eq!(seconds_rounded_up_100ms(Duration::ZERO), Decimal::ZERO);
}

#[test]
fn bigquery_logical_storage_is_shipped_with_its_source() {
    // Public list prices (cloud.google.com/bigquery/pricing#storage, US
    // multi-region): active $0.02, long-term $0.01 per GiB-month, the
    // first 10 GiB of each a month free.
    let active = calc()
        .charge(
            "bigquery",
            "active_storage",
            "US",
            d("110"),
            FreeTier::WHOLE_MONTH,
        )
        .unwrap();
    assert_eq!(active.amount, d("100") * d("0.02"));
    assert_eq!(active.unit, "GiBy.mo");
    let long_term = calc()
        .charge(
            "bigquery",
            "long_term_storage",
            "us",
            d("60"),
            FreeTier::ListPrice,
        )
        .unwrap();
    assert_eq!(long_term.amount, d("60") * d("0.01"));
    let table = crate::pricing::PriceTable::embedded();
    for sku in ["active_storage", "long_term_storage"] {
        let price = &table.sku("bigquery", sku).unwrap().prices[0];
        assert!(
            price
                .source
                .starts_with("https://cloud.google.com/bigquery/pricing")
        );
        assert_eq!(price.checked, "2026-12-07".parse().unwrap());
    }
}

#[test]
fn shipped_figures_carry_the_high_confidence_catalog_ids() {
    // From ../shared/reference/gcp-catalog-sku-ids.md, high confidence only.
    let table = crate::pricing::PriceTable::embedded();
    let id = |service: &str, sku: &str, region: &str| {
        let entry = table.sku(service, sku).unwrap();
        let price = entry
            .prices
            .iter()
            .find(|p| p.regions.iter().any(|r| r == region))
            .unwrap();
        price
            .catalog_sku_id
            .clone()
            .or_else(|| entry.catalog_sku_id.clone())
    };
    let expected = [
        ("bigquery", "analysis", "us", Some("1DF5-1F98-1DD1")),
        ("bigquery", "analysis", "eu", None),
        ("bigquery", "active_storage", "us", Some("947D-3B46-7781")),
        // Low-medium confidence: a note only.
        ("bigquery", "long_term_storage", "us", None),
        (
            "cloud_storage",
            "standard",
            "us-central1",
            Some("E5F0-6A5D-7BAD"),
        ),
        (
            "cloud_storage",
            "standard",
            "us-east4",
            Some("5F7A-5173-CF5B"),
        ),
        (
            "cloud_storage",
            "standard",
            "europe-west2",
            Some("BB55-3E5A-405C"),
        ),
        (
            "cloud_storage",
            "standard",
            "europe-west1",
            Some("A703-5CB6-E0BF"),
        ),
        ("cloud_storage", "standard", "europe-north1", None),
        (
            "cloud_run",
            "requests",
            "us-central1",
            Some("2DA5-55D3-E679"),
        ),
        ("cloud_run", "cpu", "us-central1", Some("4856-B847-F1EB")),
        ("cloud_run", "memory", "us-central1", Some("02A2-9231-36A6")),
        (
            "cloud_functions",
            "invocations",
            "us-central1",
            Some("8E10-82EB-6917"),
        ),
        ("cloud_functions", "cpu", "us-central1", None),
    ];
    for (service, sku, region, want) in expected {
        assert_eq!(
            id(service, sku, region).as_deref(),
            want,
            "{service}/{sku} {region}"
        );
    }
    // Splitting entries kept every region's price.
    assert_eq!(
        calc()
            .charge("bigquery", "analysis", "eu", d("2"), FreeTier::ListPrice)
            .unwrap()
            .amount,
        d("12.5")
    );
}
