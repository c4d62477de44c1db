//! The price book: dated list prices per provider, read from TOML files
//! shipped with the crate (and optional override files), answering "what
//! did this [`Usage`](crate::Usage) cost on that day".
//!
//! File format (see `data/*.toml`):
//!
//! ```toml
//! provider = "openai"          # optional in shipped files, required in overrides
//! currency = "USD"             # ISO 4217, for every figure of the file
//! default_region = "us-east-1" # optional: the region when a usage names none
//!
//! [[variant]]                  # a price variant derived from the base prices
//! name = "batch"
//! multiplier = "0.5"           # applied to the listed components only
//! components = ["input", "output"]
//! services = ["Batch"]         # a call site with this service implies the variant
//! source = "https://…"
//! checked = "2026-11-27"
//!
//! [[entry]]                    # one model or SKU
//! name = "gpt-4o-mini"
//! variants = ["batch"]         # variants this entry is sold under
//!
//! [[entry.list]]               # one price list, from `effective` on
//! effective = "2024-10-01"
//! regions = ["us-east-1"]      # optional: empty means every region
//! source = "https://…"
//! checked = "2026-11-27"
//! figures = [
//!   { component = "input", price = "0.15", per = "1000000", unit = "tokens" },
//! ]
//! ```
//!
//! Money is written as text so it stays an exact decimal; a TOML float is
//! refused. A figure may also carry `usagetype`, `sku` and `offer_unit`
//! (what the AWS Price List calls it, for [`crate::aws_offer`]), its own
//! `source`/`checked`, and a `note`.
//!
//! One job per file: `load` reads the shipped tables and files, `parse`
//! checks a file and builds its table, `overrides` merges books, `lookup`
//! finds the entry an item names, `pricing` prices a usage, `listing`
//! lists the figures, and `error` says what is wrong with a bad file.

mod error;
mod listing;
mod load;
mod lookup;
mod overrides;
mod parse;
mod pricing;
#[cfg(test)]
mod tests;

pub use error::BookError;
pub use listing::{Figure, TableSummary};
pub use overrides::OVERRIDES_ENV;
pub(crate) use parse::parse_raw;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

/// Dated list prices for several providers.
///
/// ```
/// use chrono::NaiveDate;
/// use panoptic_prices::{PriceBook, Usage};
/// use rust_decimal::Decimal;
///
/// let usage = Usage::new("gpt-4o-mini-2024-07-18")
///     .with("input", Decimal::from(1_000_000));
/// let day = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
/// let priced = PriceBook::shipped().price("openai", "Chat", &usage, day).unwrap();
/// assert_eq!(priced.entry, "openai/gpt-4o-mini");
/// assert_eq!(priced.amount, Decimal::new(15, 2));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PriceBook {
    tables: BTreeMap<String, Table>,
}

/// One provider's table, possibly merged from several files.
#[derive(Debug, Clone, PartialEq)]
struct Table {
    files: Vec<String>,
    variants: BTreeMap<String, Variant>,
    entries: BTreeMap<String, Entry>,
}

#[derive(Debug, Clone, PartialEq)]
struct Variant {
    multiplier: Decimal,
    components: Vec<String>,
    services: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
struct Entry {
    currency: String,
    default_region: Option<String>,
    variants: Vec<String>,
    lists: Vec<PriceList>,
}

#[derive(Debug, Clone, PartialEq)]
struct PriceList {
    effective: NaiveDate,
    regions: Vec<String>,
    variant: Option<String>,
    figures: Vec<FigureData>,
}

#[derive(Debug, Clone, PartialEq)]
struct FigureData {
    component: String,
    price: Decimal,
    per: Decimal,
    unit: String,
    usagetype: Option<String>,
    sku: Option<String>,
    offer_unit: Option<String>,
    source: String,
    checked: NaiveDate,
}
