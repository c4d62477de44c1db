//! Worked examples against the shipped book. Every expected amount is
//! computed by hand in the comment beside it, never by the code under test.

use std::str::FromStr;

use chrono::NaiveDate;
use panoptic_prices::{PriceBook, Unpriced, Usage};
use rust_decimal::Decimal;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn day(y: i32, m: u32, dd: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, dd).unwrap()
}

fn book() -> &'static PriceBook {
    PriceBook::shipped()
}

fn tokens(model: &str, input: i64, cached: i64, output: i64) -> Usage {
    Usage::new(model)
        .with("input", Decimal::from(input))
        .with("cached_input", Decimal::from(cached))
        .with("output", Decimal::from(output))
}

#[test]
fn gpt_4o_mini_snapshot_with_cached_input() {
    // 800 × 0.15/1M + 200 × 0.075/1M + 500 × 0.60/1M
    // = 0.00012 + 0.000015 + 0.0003 = 0.000435
    let u = tokens("gpt-4o-mini-2024-07-18", 800, 200, 500);
    let p = book().price("openai", "Chat", &u, day(2025, 1, 1)).unwrap();
    assert_eq!(p.amount, d("0.000435"));
    assert_eq!(p.entry, "openai/gpt-4o-mini");
    assert_eq!(p.currency, "USD");
    assert_eq!(p.variant, None);
    let amounts: Vec<Decimal> = p.components.iter().map(|c| c.amount).collect();
    assert_eq!(amounts, vec![d("0.00012"), d("0.000015"), d("0.0003")]);
    assert_eq!(p.components[0].per, d("1000000"));
    assert_eq!(p.components[0].unit, "tokens");
    assert_eq!(p.components[1].effective, day(2024, 10, 1));
    assert_eq!(p.components[1].checked, day(2026, 11, 27));
}

#[test]
fn gpt_4o_2024_05_13_has_its_own_price() {
    // 1,000 × 5.00/1M + 1,000 × 15.00/1M = 0.005 + 0.015 = 0.02
    let u = tokens("gpt-4o-2024-05-13", 1000, 0, 1000);
    let p = book().price("openai", "Chat", &u, day(2025, 1, 1)).unwrap();
    assert_eq!(p.entry, "openai/gpt-4o-2024-05-13");
    assert_eq!(p.amount, d("0.02"));
    // gpt-4o itself: 1,000 × 2.50/1M + 1,000 × 10.00/1M = 0.0025 + 0.01 = 0.0125
    let u = tokens("gpt-4o", 1000, 0, 1000);
    let p = book().price("openai", "Chat", &u, day(2025, 1, 1)).unwrap();
    assert_eq!(p.amount, d("0.0125"));
    // The zero cached quantity is left out rather than priced.
    assert_eq!(p.components.len(), 2);
}

#[test]
fn unknown_model_and_no_prefix_match() {
    for item in [
        "gpt-9",
        "gpt-4o-mini-foo",
        "gpt-4o-min",
        "gpt-4o-mini-2024-07-18-x",
    ] {
        let u = tokens(item, 1, 0, 1);
        let e = book()
            .price("openai", "Chat", &u, day(2025, 1, 1))
            .unwrap_err();
        assert_eq!(
            e,
            Unpriced::UnknownItem {
                provider: "openai".into(),
                item: item.into()
            },
            "{item}"
        );
    }
    let e = book()
        .price("anthropic", "Chat", &tokens("x", 1, 0, 1), day(2025, 1, 1))
        .unwrap_err();
    assert!(matches!(e, Unpriced::NoBook { .. }));
}

#[test]
fn batch_halves_input_and_output() {
    // 1M × 0.15 × 0.5 + 1M × 0.60 × 0.5 = 0.075 + 0.30 = 0.375
    let u = tokens("gpt-4o-mini", 1_000_000, 0, 1_000_000);
    let by_service = book()
        .price("openai", "Batch", &u, day(2025, 1, 1))
        .unwrap();
    assert_eq!(by_service.amount, d("0.375"));
    assert_eq!(by_service.variant.as_deref(), Some("batch"));
    assert_eq!(by_service.components[0].unit_price, d("0.075"));
    let by_usage = book()
        .price(
            "openai",
            "Chat",
            &u.clone().variant("batch"),
            day(2025, 1, 1),
        )
        .unwrap();
    assert_eq!(by_usage.amount, d("0.375"));
    // Speech is not sold through the Batch API.
    let tts = Usage::new("tts-1").with("characters", Decimal::from(10));
    let e = book()
        .price("openai", "Batch", &tts, day(2025, 1, 1))
        .unwrap_err();
    assert!(matches!(e, Unpriced::UnknownVariant { .. }), "{e}");
}

#[test]
fn embedding_speech_and_transcription() {
    // 12,345 × 0.02/1M = 0.0002469
    let u = Usage::new("text-embedding-3-small").with("input", Decimal::from(12_345));
    let p = book()
        .price("openai", "Embeddings", &u, day(2025, 1, 1))
        .unwrap();
    assert_eq!(p.amount, d("0.0002469"));
    // 2,000 characters × 15/1M = 0.03
    let u = Usage::new("tts-1").with("characters", Decimal::from(2_000));
    assert_eq!(
        book()
            .price("openai", "Audio", &u, day(2025, 1, 1))
            .unwrap()
            .amount,
        d("0.03")
    );
    // 2.5 minutes × 0.006 = 0.015
    let u = Usage::new("whisper-1").with("minutes", d("2.5"));
    assert_eq!(
        book()
            .price("openai", "Audio", &u, day(2025, 1, 1))
            .unwrap()
            .amount,
        d("0.015")
    );
    // An embedding has no output price.
    let u = Usage::new("text-embedding-3-large").with("output", Decimal::from(1));
    let e = book()
        .price("openai", "Embeddings", &u, day(2025, 1, 1))
        .unwrap_err();
    assert!(matches!(e, Unpriced::UnknownComponent { .. }), "{e}");
}

#[test]
fn fine_tuned_models_use_fine_tuned_prices() {
    // 1,000 × 0.30/1M + 1,000 × 1.20/1M = 0.0003 + 0.0012 = 0.0015
    let u = tokens(
        "ft:gpt-4o-mini-2024-07-18:acme:support:abc123",
        1000,
        0,
        1000,
    );
    let p = book().price("openai", "Chat", &u, day(2025, 1, 1)).unwrap();
    assert_eq!(p.entry, "openai/ft:gpt-4o-mini");
    assert_eq!(p.amount, d("0.0015"));
    // 1,000 × 0.80/1M + 1,000 × 0.20/1M + 1,000 × 3.20/1M = 0.0008 + 0.0002 + 0.0032 = 0.0042
    let u = tokens("ft:gpt-4.1-mini-2025-04-14:acme::xyz", 1000, 1000, 1000);
    let p = book().price("openai", "Chat", &u, day(2025, 6, 1)).unwrap();
    assert_eq!(p.entry, "openai/ft:gpt-4.1-mini");
    assert_eq!(p.amount, d("0.0042"));
}

#[test]
fn a_later_list_applies_only_from_its_date() {
    // o3: 1M input at the launch price 10.00 until 2025-06-09, 2.00 from 2025-06-10.
    let u = Usage::new("o3").with("input", Decimal::from(1_000_000));
    let before = book().price("openai", "Chat", &u, day(2025, 6, 9)).unwrap();
    let after = book()
        .price("openai", "Chat", &u, day(2025, 6, 10))
        .unwrap();
    assert_eq!(before.amount, d("10.00"));
    assert_eq!(after.amount, d("2.00"));
    assert_eq!(after.components[0].effective, day(2025, 6, 10));
    // Before a model's first list: no price.
    let u = tokens("gpt-4o-mini", 1, 0, 1);
    let e = book()
        .price("openai", "Chat", &u, day(2024, 7, 17))
        .unwrap_err();
    assert!(matches!(e, Unpriced::NotYetEffective { .. }), "{e}");
    // Cached input only has a price from 2024-10-01.
    let u = tokens("gpt-4o-mini", 1, 1, 1);
    let e = book()
        .price("openai", "Chat", &u, day(2024, 9, 30))
        .unwrap_err();
    assert_eq!(
        e,
        Unpriced::UnknownComponent {
            entry: "openai/gpt-4o-mini".into(),
            component: "cached_input".into()
        }
    );
}

#[test]
fn tables_and_figures_for_a_listing() {
    let tables = book().tables();
    let names: Vec<&str> = tables.iter().map(|t| t.provider.as_str()).collect();
    assert_eq!(names, ["aws", "mongodb_atlas", "openai"]);
    for t in &tables {
        assert!(t.figures > 0, "{t:?}");
        assert_eq!(t.oldest_checked, Some(day(2026, 11, 27)));
        assert_eq!(t.file, format!("{}.toml", t.provider));
    }
    let figures = book().figures();
    assert_eq!(
        figures.len(),
        tables.iter().map(|t| t.figures).sum::<usize>()
    );
    let f = figures
        .iter()
        .find(|f| {
            f.entry == "lambda-arm64"
                && f.component == "gb_seconds"
                && f.region.as_deref() == Some("us-east-1")
        })
        .unwrap();
    assert_eq!(f.usagetype.as_deref(), Some("Lambda-GB-Second-ARM"));
    assert_eq!(f.unit_price, d("0.0000133334"));
    assert_eq!(f.age_days(day(2026, 12, 27)), 30);
    assert!(book().has_provider("aws"));
    assert!(!book().has_provider("gcp"));
}
