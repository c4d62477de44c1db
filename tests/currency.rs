//! Every amount in its own currency, from the call to the ledger: an
//! amount the book prices takes its price's currency (an override file in
//! EUR gives EUR amounts, priced from the euro figures), an amount the call
//! site gives takes the site's `currency =`, and a report over both keeps
//! them apart. The override is read once per process, so the calls run in
//! a child test with `PANOPTIC_PRICES` set.

mod common;

use std::str::FromStr;

use panoptic::query::{CostQuery, GroupBy};
use panoptic::{Decimal, Metered, Usage, billable};

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

/// `gpt-4o-mini` priced in euros, as a team buying through a European
/// reseller would write it.
const EUR_OVERRIDE: &str = r#"
provider = "openai"
currency = "EUR"

[[entry]]
name = "gpt-4o-mini"

[[entry.list]]
effective = "2024-07-18"
source = "https://reseller.example/eu-pricing"
checked = "2026-12-01"
figures = [
  { component = "input", price = "0.14", per = "1000000", unit = "tokens" },
  { component = "output", price = "0.55", per = "1000000", unit = "tokens" },
]
"#;

struct Reply {
    input: u32,
    output: u32,
}

impl Metered for Reply {
    fn usage(&self) -> Option<Usage> {
        Some(
            Usage::new("gpt-4o-mini")
                .with("input", self.input.into())
                .with("output", self.output.into()),
        )
    }
}

/// Priced by the book: its amount is in the book's currency, whatever the
/// site's default.
#[billable(provider = "openai", service = "ChatCompletions")]
fn ask() -> Reply {
    Reply {
        input: 2_000_000,
        output: 1_000_000,
    }
}

/// An amount the site gives, in the site's default currency (USD).
#[billable(
    provider = "openai",
    service = "ChatCompletions",
    resource = "moderation",
    amount = 0.25
)]
fn moderate() {}

/// An amount the site gives in its own currency.
#[billable(
    provider = "openai",
    service = "ChatCompletions",
    resource = "invoice_fee",
    amount = 1.5,
    currency = "GBP"
)]
fn invoice_fee() {}

#[test]
fn currency_child() {
    let Ok(env) = std::env::var("PANOPTIC_CURRENCY_ENV") else {
        return;
    };
    let guard = common::builder(&env).install().unwrap();
    ask();
    moderate();
    invoice_fee();
    // A record through slog names its currency as it likes: `eur` is EUR.
    let log = panoptic::global()
        .unwrap()
        .logger(panoptic::Provider::OpenAi, "ChatCompletions");
    panoptic::invoice!(log, "reseller_fee"; "amount" => "2", "currency" => "eur");
    assert!(guard.flush());
    println!("CURRENCY-CHILD-OK");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_eur_price_file_gives_eur_amounts_and_reports_never_add_currencies() {
    let env = common::unique_env("currency");
    let dir = common::temp_dir("currency");
    let file = dir.join("eur.toml");
    std::fs::write(&file, EUR_OVERRIDE).unwrap();
    let output = common::child_test("currency_child")
        .env("PANOPTIC_CURRENCY_ENV", &env)
        .env("PANOPTIC_PRICES", &file)
        .env("MONGODB_URI", common::mongodb_uri())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("CURRENCY-CHILD-OK"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let events = common::events(&env, "openai_john_doe").await;
    assert_eq!(events.len(), 4, "{events:#?}");
    let by_resource = |resource: &str| {
        events
            .iter()
            .find(|e| e.resource == resource)
            .unwrap_or_else(|| panic!("no {resource} event in {events:#?}"))
    };
    // 2M input tokens at 0.14 EUR and 1M output tokens at 0.55 EUR per 1M.
    let asked = by_resource("ask");
    assert_eq!(asked.amount, Some(dec("0.83")), "{asked:#?}");
    assert_eq!(asked.currency, "EUR");
    assert_eq!(asked.metadata.priced_by(), Some("price_book"));
    assert_eq!(
        asked.metadata.price().unwrap().get_str("currency"),
        Ok("EUR")
    );
    let moderation = by_resource("moderation");
    assert_eq!(
        (moderation.amount, moderation.currency.as_str()),
        (Some(dec("0.25")), "USD")
    );
    let fee = by_resource("invoice_fee");
    assert_eq!(
        (fee.amount, fee.currency.as_str()),
        (Some(dec("1.5")), "GBP")
    );

    // One group by service, three currencies: three rows, never one sum
    // (the euro row holds the priced call and the slog record).
    let client = mongodb::Client::with_uri_str(common::mongodb_uri())
        .await
        .unwrap();
    let query = CostQuery::new().env(&env).group_by([GroupBy::Service]);
    let mut rows: Vec<(String, Decimal, u64)> = query
        .run(&client)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.currency, r.amount, r.count))
        .collect();
    rows.sort();
    assert_eq!(
        rows,
        [
            ("EUR".to_owned(), dec("2.83"), 2),
            ("GBP".to_owned(), dec("1.5"), 1),
            ("USD".to_owned(), dec("0.25"), 1),
        ]
    );
    // The same split from the same events in memory.
    let mut in_memory: Vec<(String, Decimal)> = query
        .run_on_events(&events)
        .into_iter()
        .map(|r| (r.currency, r.amount))
        .collect();
    in_memory.sort();
    assert_eq!(
        in_memory,
        rows.iter()
            .map(|(c, a, _)| (c.clone(), *a))
            .collect::<Vec<_>>()
    );
}
