//! Override files, merging, and errors that name the file and the line.

use std::path::PathBuf;
use std::process::Command;
use std::str::FromStr;

use chrono::NaiveDate;
use panoptic_prices::{OVERRIDES_ENV, PriceBook, Usage};
use rust_decimal::Decimal;

/// An OpenAI override file; the line numbers below are that file's.
const OVERRIDE: &str = include_str!("fixtures/override.toml");

fn temp_file(name: &str, text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("panoptic-prices-{}-{name}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

fn day(y: i32, m: u32, dd: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, dd).unwrap()
}

fn check_overridden(book: &PriceBook) {
    // Overridden: 1M × 0.10/1M + 1M × 0.40/1M = 0.50 (shipped would be 0.75).
    let u = Usage::new("gpt-4o-mini-2024-07-18")
        .with("input", Decimal::from(1_000_000))
        .with("output", Decimal::from(1_000_000));
    let p = book.price("openai", "Chat", &u, day(2026, 6, 1)).unwrap();
    assert_eq!(p.amount, Decimal::from_str("0.50").unwrap());
    assert_eq!(p.components[0].source, "https://example.com/negotiated");
    // Added: 2,500 × 1/1,000 = 2.5
    let u = Usage::new("my-model").with("input", Decimal::from(2_500));
    assert_eq!(
        book.price("openai", "Chat", &u, day(2026, 6, 1))
            .unwrap()
            .amount,
        Decimal::from_str("2.5").unwrap()
    );
    // Untouched entries stay: gpt-4o, 1M input × 2.50/1M = 2.50
    let u = Usage::new("gpt-4o").with("input", Decimal::from(1_000_000));
    assert_eq!(
        book.price("openai", "Chat", &u, day(2026, 6, 1))
            .unwrap()
            .amount,
        Decimal::from_str("2.50").unwrap()
    );
}

#[test]
fn an_override_file_replaces_entries() {
    let path = temp_file("override.toml", OVERRIDE);
    let mut book = PriceBook::shipped().clone();
    book.merge(PriceBook::from_file(&path).unwrap());
    check_overridden(&book);
    let openai = book
        .tables()
        .into_iter()
        .find(|t| t.provider == "openai")
        .unwrap();
    assert!(openai.file.starts_with("openai.toml + "), "{}", openai.file);
    std::fs::remove_file(path).ok();
}

/// Run by `overrides_from_the_environment` in a child process, with the
/// variable set there (setting it here would need `unsafe`).
#[test]
#[ignore = "run by overrides_from_the_environment"]
fn overrides_from_the_environment_child() {
    let book = PriceBook::with_overrides_from_env().unwrap();
    check_overridden(&book);
}

#[test]
fn overrides_from_the_environment() {
    let path = temp_file("env-override.toml", OVERRIDE);
    // The child's own report is kept out of this run's output (CI reads the
    // closing lines) and shown only if it failed.
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "overrides_from_the_environment_child",
            "--exact",
            "--ignored",
            "--quiet",
        ])
        .env(OVERRIDES_ENV, &path)
        .output()
        .unwrap();
    std::fs::remove_file(path).ok();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_bad_file_names_the_file_and_the_line() {
    let bad = OVERRIDE.replace(r#"price = "0.40""#, r#"price = 0.40"#);
    let path = temp_file("bad.toml", &bad);
    let e = PriceBook::from_file(&path).unwrap_err();
    // The float sits on line 14 of fixtures/override.toml.
    assert_eq!(e.line(), Some(14), "{e}");
    assert_eq!(e.file(), path.display().to_string());
    let shown = e.to_string();
    assert!(shown.contains("bad.toml, line 14:"), "{shown}");
    std::fs::remove_file(path).ok();

    // A check after parsing points at the entry's line too.
    let twice = OVERRIDE.replace("name = \"my-model\"", "name = \"gpt-4o-mini\"");
    let e = PriceBook::from_toml("openai", &twice).unwrap_err();
    assert_eq!(e.line(), Some(18), "{e}");
    assert!(
        e.to_string()
            .starts_with("openai.toml, line 18: entry `gpt-4o-mini` appears twice"),
        "{e}"
    );

    // An unknown key is refused, with its line.
    let typo = OVERRIDE.replace("effective = \"2026-01-01\"", "efective = \"2026-01-01\"");
    let e = PriceBook::from_toml("openai", &typo).unwrap_err();
    assert_eq!(e.line(), Some(21), "{e}");

    // A file for another provider.
    let e = PriceBook::from_toml("aws", OVERRIDE).unwrap_err();
    assert!(e.to_string().contains("provider `openai`"), "{e}");
    // An override file must say which provider it is for.
    let path = temp_file(
        "anonymous.toml",
        &OVERRIDE.replace("provider = \"openai\"", ""),
    );
    let e = PriceBook::from_file(&path).unwrap_err();
    assert!(e.message().contains("name the provider"), "{e}");
    std::fs::remove_file(path).ok();
}
