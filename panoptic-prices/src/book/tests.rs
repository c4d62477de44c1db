use super::PriceBook;
use super::load::SHIPPED;
use super::lookup::strip_date_suffix;

#[test]
fn every_shipped_file_parses() {
    for (provider, text) in SHIPPED {
        let book = PriceBook::from_toml(provider, text)
            .unwrap_or_else(|e| panic!("shipped {provider}: {e}"));
        assert!(book.has_provider(provider));
        assert!(PriceBook::shipped().has_provider(provider));
    }
}

#[test]
fn date_suffix_is_stripped_only_when_it_is_a_date() {
    assert_eq!(
        strip_date_suffix("gpt-4o-mini-2024-07-18"),
        Some("gpt-4o-mini")
    );
    assert_eq!(strip_date_suffix("gpt-4o-mini"), None);
    assert_eq!(strip_date_suffix("gpt-4o-mini-2024-07-1x"), None);
    assert_eq!(strip_date_suffix("-2024-07-18"), None);
    assert_eq!(strip_date_suffix("é-2024-07-18"), Some("é"));
}

#[test]
fn floats_are_refused() {
    let text = "currency = \"USD\"\n[[entry]]\nname = \"x\"\n[[entry.list]]\neffective = \"2024-01-01\"\nsource = \"s\"\nchecked = \"2026-11-27\"\nfigures = [{ component = \"input\", price = 0.15, unit = \"tokens\" }]\n";
    let e = PriceBook::from_toml("openai", text).unwrap_err();
    assert_eq!(e.line(), Some(8), "{e}");
    assert!(e.message().contains("exact"), "{e}");
}
