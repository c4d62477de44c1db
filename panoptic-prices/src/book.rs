//! The price book: dated list prices per provider, read from TOML files
//! shipped with the crate (and optional override files), answering "what
//! did this [`Usage`] cost on that day".
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

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::Path;
use std::sync::OnceLock;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use toml::Spanned;

use crate::priced::{Priced, PricedComponent, Unpriced};
use crate::usage::Usage;

/// The environment variable naming override files (several joined like
/// `PATH`).
pub const OVERRIDES_ENV: &str = "PANOPTIC_PRICES";

/// The shipped tables: provider name and TOML text.
const SHIPPED: [(&str, &str); 3] = [
    ("openai", include_str!("../data/openai.toml")),
    ("aws", include_str!("../data/aws.toml")),
    ("mongodb_atlas", include_str!("../data/mongodb_atlas.toml")),
];

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

/// A bad price file: which file, where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookError {
    file: String,
    line: Option<usize>,
    message: String,
}

impl BookError {
    pub(crate) fn new(file: &str, line: Option<usize>, message: impl Into<String>) -> BookError {
        BookError {
            file: file.to_owned(),
            line,
            message: message.into(),
        }
    }

    /// The file (a path, or `<provider>.toml` for text given directly).
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The 1-based line, when the problem has one.
    pub fn line(&self) -> Option<usize> {
        self.line
    }

    /// What is wrong.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for BookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}, line {}: {}", self.file, line, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for BookError {}

/// One provider's table, summarised for `panoptic prices`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSummary {
    /// `openai`, `aws`, `mongodb_atlas`.
    pub provider: String,
    /// The file(s) it was read from, `+`-joined when overridden.
    pub file: String,
    /// How many figures (one per component, price list and region).
    pub figures: usize,
    /// The oldest `checked` date of its figures.
    pub oldest_checked: Option<NaiveDate>,
    /// The newest `checked` date of its figures.
    pub newest_checked: Option<NaiveDate>,
}

/// One figure of the book, as a listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figure {
    /// Provider.
    pub provider: String,
    /// Entry (model or SKU) name, without the provider.
    pub entry: String,
    /// Component (`input`, `requests`, …).
    pub component: String,
    /// The region, or `None` when the list applies everywhere.
    pub region: Option<String>,
    /// An explicit variant list (`batch`), or `None` for base prices.
    pub variant: Option<String>,
    /// Price of `per` units.
    pub unit_price: Decimal,
    /// How many units `unit_price` buys.
    pub per: Decimal,
    /// The base unit.
    pub unit: String,
    /// ISO 4217.
    pub currency: String,
    /// Where the figure was read.
    pub source: String,
    /// When it was read there.
    pub checked: NaiveDate,
    /// From when it applies.
    pub effective: NaiveDate,
    /// The AWS Price List usage type it corresponds to, if any.
    pub usagetype: Option<String>,
    /// The AWS Price List SKU it corresponds to, if any.
    pub sku: Option<String>,
}

impl Figure {
    /// Days since the figure was checked (negative if checked "after" `today`).
    pub fn age_days(&self, today: NaiveDate) -> i64 {
        (today - self.checked).num_days()
    }
}

impl PriceBook {
    /// An empty book (prices nothing).
    pub fn empty() -> PriceBook {
        PriceBook::default()
    }

    /// The tables shipped with the crate, parsed once.
    pub fn shipped() -> &'static PriceBook {
        static BOOK: OnceLock<PriceBook> = OnceLock::new();
        BOOK.get_or_init(|| {
            let mut book = PriceBook::empty();
            for (provider, text) in SHIPPED {
                // A unit test parses every shipped file; a broken edit fails
                // there, and here only that provider goes missing.
                if let Ok(table) = PriceBook::from_toml(provider, text) {
                    book.merge(table);
                }
            }
            book
        })
    }

    /// The TOML text shipped for `provider` (to start an override file or
    /// to refresh it).
    pub fn shipped_toml(provider: &str) -> Option<&'static str> {
        SHIPPED
            .iter()
            .find(|(name, _)| *name == provider)
            .map(|(_, text)| *text)
    }

    /// Parses one provider's table. Errors name `<provider>.toml`.
    pub fn from_toml(provider: &str, text: &str) -> Result<PriceBook, BookError> {
        parse(Some(provider), &format!("{provider}.toml"), text)
    }

    /// Reads a table file whose `provider` key names its provider.
    pub fn from_file(path: &Path) -> Result<PriceBook, BookError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| BookError::new(&name, None, format!("cannot read: {e}")))?;
        parse(None, &name, &text)
    }

    /// The shipped book with the files named in `PANOPTIC_PRICES` merged
    /// over it, in order. Unset or empty: the shipped book.
    pub fn with_overrides_from_env() -> Result<PriceBook, BookError> {
        let mut book = PriceBook::shipped().clone();
        if let Some(paths) = std::env::var_os(OVERRIDES_ENV) {
            for path in std::env::split_paths(&paths) {
                if path.as_os_str().is_empty() {
                    continue;
                }
                book.merge(PriceBook::from_file(&path)?);
            }
        }
        Ok(book)
    }

    /// Merges `other` over this book: its entries and variants replace
    /// those of the same name (a whole entry, history included).
    pub fn merge(&mut self, other: PriceBook) {
        for (provider, table) in other.tables {
            match self.tables.get_mut(&provider) {
                None => {
                    self.tables.insert(provider, table);
                }
                Some(mine) => {
                    mine.files.extend(table.files);
                    mine.variants.extend(table.variants);
                    mine.entries.extend(table.entries);
                }
            }
        }
    }

    /// Whether the book has a table for `provider`.
    pub fn has_provider(&self, provider: &str) -> bool {
        self.tables.contains_key(provider)
    }

    /// Prices `usage` as `provider` lists it on day `on`.
    ///
    /// The entry is `usage.item` exactly, else the item without a trailing
    /// `-YYYY-MM-DD` (a dated snapshot), else for `ft:BASE:…` the entry
    /// `ft:BASE` or `ft:BASE` undated. Never a prefix match. The variant is
    /// `usage.variant`, else the one the service implies (`Batch`).
    pub fn price(
        &self,
        provider: &str,
        service: &str,
        usage: &Usage,
        on: NaiveDate,
    ) -> Result<Priced, Unpriced> {
        let table = self.tables.get(provider).ok_or_else(|| Unpriced::NoBook {
            provider: provider.to_owned(),
        })?;
        let (name, entry) = table
            .resolve(&usage.item)
            .ok_or_else(|| Unpriced::UnknownItem {
                provider: provider.to_owned(),
                item: usage.item.clone(),
            })?;
        let entry_id = format!("{provider}/{name}");
        let service = usage.service.as_deref().unwrap_or(service);
        let variant = usage
            .variant
            .clone()
            .or_else(|| table.variant_for_service(service));
        let region = usage.region.as_deref().or(entry.default_region.as_deref());

        // Explicit lists for the variant win; else the base lists with the
        // variant's multiplier, if the entry is sold under it.
        let explicit: Vec<&PriceList> = entry
            .lists
            .iter()
            .filter(|l| l.variant == variant)
            .collect();
        let (lists, multiplier) = match (&variant, explicit.is_empty()) {
            (None, _) | (Some(_), false) => (explicit, None),
            (Some(v), true) => {
                let derived = table
                    .variants
                    .get(v)
                    .filter(|_| entry.variants.iter().any(|e| e == v));
                match derived {
                    Some(d) => (
                        entry.lists.iter().filter(|l| l.variant.is_none()).collect(),
                        Some(d),
                    ),
                    None => {
                        return Err(Unpriced::UnknownVariant {
                            entry: entry_id,
                            variant: v.clone(),
                        });
                    }
                }
            }
        };

        let regional: Vec<&PriceList> =
            lists.into_iter().filter(|l| l.applies_in(region)).collect();
        if regional.is_empty() {
            return Err(Unpriced::UnknownRegion {
                entry: entry_id,
                region: region.unwrap_or("(none)").to_owned(),
            });
        }
        // Latest list in force; a list naming the region beats a global one
        // of the same date.
        let list = regional
            .into_iter()
            .filter(|l| l.effective <= on)
            .max_by_key(|l| (l.effective, !l.regions.is_empty()))
            .ok_or_else(|| Unpriced::NotYetEffective {
                entry: entry_id.clone(),
                on,
            })?;

        let mut components = Vec::with_capacity(usage.quantities.len());
        let mut amount = Decimal::ZERO;
        for q in &usage.quantities {
            if q.amount.is_zero() {
                continue;
            }
            let figure = list
                .figures
                .iter()
                .find(|f| f.component == q.component)
                .ok_or_else(|| Unpriced::UnknownComponent {
                    entry: entry_id.clone(),
                    component: q.component.clone(),
                })?;
            let unit_price = match multiplier {
                Some(v) if v.components.contains(&q.component) => figure.price * v.multiplier,
                _ => figure.price,
            };
            let line = times(q.amount, unit_price, figure.per);
            amount += line;
            components.push(PricedComponent {
                component: q.component.clone(),
                quantity: q.amount,
                unit_price,
                per: figure.per,
                unit: figure.unit.clone(),
                amount: line,
                source: figure.source.clone(),
                checked: figure.checked,
                effective: list.effective,
            });
        }
        Ok(Priced {
            amount,
            currency: entry.currency.clone(),
            entry: entry_id,
            variant,
            components,
        })
    }

    /// One summary per provider table.
    pub fn tables(&self) -> Vec<TableSummary> {
        self.tables
            .iter()
            .map(|(provider, table)| {
                let figures = self.figures_of(provider, table);
                TableSummary {
                    provider: provider.clone(),
                    file: table.files.join(" + "),
                    figures: figures.len(),
                    oldest_checked: figures.iter().map(|f| f.checked).min(),
                    newest_checked: figures.iter().map(|f| f.checked).max(),
                }
            })
            .collect()
    }

    /// Every figure of the book, one per component, list and region.
    pub fn figures(&self) -> Vec<Figure> {
        self.tables
            .iter()
            .flat_map(|(provider, table)| self.figures_of(provider, table))
            .collect()
    }

    fn figures_of(&self, provider: &str, table: &Table) -> Vec<Figure> {
        let mut out = Vec::new();
        for (name, entry) in &table.entries {
            for list in &entry.lists {
                let regions: Vec<Option<String>> = if list.regions.is_empty() {
                    vec![None]
                } else {
                    list.regions.iter().cloned().map(Some).collect()
                };
                for region in regions {
                    for f in &list.figures {
                        out.push(Figure {
                            provider: provider.to_owned(),
                            entry: name.clone(),
                            component: f.component.clone(),
                            region: region.clone(),
                            variant: list.variant.clone(),
                            unit_price: f.price,
                            per: f.per,
                            unit: f.unit.clone(),
                            currency: entry.currency.clone(),
                            source: f.source.clone(),
                            checked: f.checked,
                            effective: list.effective,
                            usagetype: f.usagetype.clone(),
                            sku: f.sku.clone(),
                        });
                    }
                }
            }
        }
        out
    }

    /// The figures an AWS offer refresh compares: for each entry, region
    /// and component, the base list in force on `on`.
    pub(crate) fn current_figures(&self, provider: &str, on: NaiveDate) -> Vec<CurrentFigure> {
        let Some(table) = self.tables.get(provider) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (name, entry) in &table.entries {
            let mut regions: Vec<Option<&str>> = entry
                .lists
                .iter()
                .flat_map(|l| l.regions.iter().map(|r| Some(r.as_str())))
                .collect();
            regions.sort();
            regions.dedup();
            if regions.is_empty() {
                regions.push(None);
            }
            for region in regions {
                let list = entry
                    .lists
                    .iter()
                    .filter(|l| l.variant.is_none() && l.applies_in(region))
                    .filter(|l| l.effective <= on)
                    .max_by_key(|l| (l.effective, !l.regions.is_empty()));
                let Some(list) = list else { continue };
                for f in &list.figures {
                    out.push(CurrentFigure {
                        entry: format!("{provider}/{name}"),
                        region: region.map(str::to_owned),
                        list_effective: list.effective,
                        currency: entry.currency.clone(),
                        component: f.component.clone(),
                        price: f.price,
                        per: f.per,
                        unit: f.unit.clone(),
                        usagetype: f.usagetype.clone(),
                        sku: f.sku.clone(),
                        offer_unit: f.offer_unit.clone(),
                    });
                }
            }
        }
        out
    }
}

/// A figure in force, as the AWS offer refresh sees it.
#[derive(Debug, Clone)]
pub(crate) struct CurrentFigure {
    pub entry: String,
    pub region: Option<String>,
    pub list_effective: NaiveDate,
    pub currency: String,
    pub component: String,
    pub price: Decimal,
    pub per: Decimal,
    pub unit: String,
    pub usagetype: Option<String>,
    pub sku: Option<String>,
    pub offer_unit: Option<String>,
}

impl Table {
    fn resolve(&self, item: &str) -> Option<(&str, &Entry)> {
        let get = |name: &str| {
            self.entries
                .get_key_value(name)
                .map(|(k, v)| (k.as_str(), v))
        };
        if let Some(found) = get(item) {
            return Some(found);
        }
        if let Some(base) = strip_date_suffix(item)
            && let Some(found) = get(base)
        {
            return Some(found);
        }
        // Fine-tuned: `ft:BASE:org:name:id` is priced as its base's
        // fine-tuned entry, dated or not.
        let base = item.strip_prefix("ft:")?.split(':').next()?;
        if let Some(found) = get(&format!("ft:{base}")) {
            return Some(found);
        }
        get(&format!("ft:{}", strip_date_suffix(base)?))
    }

    fn variant_for_service(&self, service: &str) -> Option<String> {
        self.variants
            .iter()
            .find(|(_, v)| v.services.iter().any(|s| s == service))
            .map(|(name, _)| name.clone())
    }
}

impl PriceList {
    fn applies_in(&self, region: Option<&str>) -> bool {
        self.regions.is_empty() || region.is_some_and(|r| self.regions.iter().any(|x| x == r))
    }
}

/// `name` without a trailing `-YYYY-MM-DD`, if it has one.
fn strip_date_suffix(name: &str) -> Option<&str> {
    let cut = name.len().checked_sub(11)?;
    let (base, suffix) = (name.get(..cut)?, name.get(cut..)?);
    let b = suffix.as_bytes();
    let digits = |r: Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let dated = b[0] == b'-'
        && digits(1..5)
        && b[5] == b'-'
        && digits(6..8)
        && b[8] == b'-'
        && digits(9..11);
    (dated && !base.is_empty()).then_some(base)
}

/// `quantity × price / per`, multiplying first so that exact results stay
/// exact; dividing first only if the product would overflow.
fn times(quantity: Decimal, price: Decimal, per: Decimal) -> Decimal {
    quantity
        .checked_mul(price)
        .and_then(|p| p.checked_div(per))
        .or_else(|| quantity.checked_div(per)?.checked_mul(price))
        .unwrap_or(Decimal::MAX)
}

// --- parsing ------------------------------------------------------------------

/// Exact money: a TOML string (`"0.15"`) or integer, never a float.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Money(pub Decimal);

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Money, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Money;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a decimal written as a string, like \"0.15\"")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Money, E> {
                s.trim()
                    .parse::<Decimal>()
                    .or_else(|_| Decimal::from_scientific(s.trim()))
                    .map(Money)
                    .map_err(|_| E::custom(format!("`{s}` is not a decimal number")))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Money, E> {
                Ok(Money(Decimal::from(n)))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Money, E> {
                Ok(Money(Decimal::from(n)))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Money, E> {
                Err(E::custom(format!(
                    "write {n} as a string (\"{n}\") so that it stays exact"
                )))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFile {
    provider: Option<String>,
    currency: String,
    default_region: Option<String>,
    #[serde(default)]
    variant: Vec<RawVariant>,
    #[serde(default)]
    pub(crate) entry: Vec<RawEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVariant {
    name: Spanned<String>,
    #[serde(default)]
    description: Option<String>,
    multiplier: Money,
    components: Vec<String>,
    #[serde(default)]
    services: Vec<String>,
    #[allow(dead_code)] // documents the figure; not used to price
    source: String,
    #[allow(dead_code)]
    checked: NaiveDate,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEntry {
    pub(crate) name: Spanned<String>,
    #[serde(default)]
    description: Option<String>,
    default_region: Option<String>,
    #[serde(default)]
    variants: Vec<String>,
    pub(crate) list: Vec<RawList>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawList {
    pub(crate) effective: NaiveDate,
    #[serde(default)]
    pub(crate) regions: Vec<String>,
    variant: Option<String>,
    source: String,
    checked: NaiveDate,
    pub(crate) figures: Vec<RawFigure>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFigure {
    pub(crate) component: String,
    pub(crate) price: Spanned<Money>,
    per: Option<Money>,
    unit: String,
    usagetype: Option<String>,
    sku: Option<String>,
    offer_unit: Option<String>,
    source: Option<String>,
    // Spanned so that a refresh can rewrite it in place.
    pub(crate) checked: Option<Spanned<NaiveDate>>,
    #[serde(default)]
    #[allow(dead_code)] // a remark for readers of the file
    note: Option<String>,
}

/// The 1-based line of byte `offset` in `text`.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Parses the raw file, with a line number on syntax errors.
pub(crate) fn parse_raw(file: &str, text: &str) -> Result<RawFile, BookError> {
    toml::from_str::<RawFile>(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start));
        BookError::new(file, line, e.message().trim().to_owned())
    })
}

fn parse(provider: Option<&str>, file: &str, text: &str) -> Result<PriceBook, BookError> {
    let raw = parse_raw(file, text)?;
    let err = |span: Option<Range<usize>>, msg: String| {
        BookError::new(file, span.map(|s| line_of(text, s.start)), msg)
    };
    let provider = match (provider, raw.provider.as_deref()) {
        (Some(asked), Some(named)) if asked != named => {
            return Err(err(
                None,
                format!("the file is for provider `{named}`, not `{asked}`"),
            ));
        }
        (Some(p), _) | (None, Some(p)) => p.to_owned(),
        (None, None) => {
            return Err(err(
                None,
                "name the provider: `provider = \"openai\"` (or aws, mongodb_atlas)".into(),
            ));
        }
    };
    let currency = raw.currency.trim().to_owned();
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(err(
            None,
            format!("currency `{currency}` is not an ISO 4217 code like \"USD\""),
        ));
    }

    let mut variants = BTreeMap::new();
    for v in raw.variant {
        let span = Some(v.name.span());
        let _ = v.description;
        if v.multiplier.0 <= Decimal::ZERO {
            return Err(err(
                span,
                format!(
                    "variant `{}`: multiplier must be above zero",
                    v.name.get_ref()
                ),
            ));
        }
        if v.components.is_empty() {
            return Err(err(
                span,
                format!(
                    "variant `{}`: name the components it changes",
                    v.name.get_ref()
                ),
            ));
        }
        variants.insert(
            v.name.into_inner(),
            Variant {
                multiplier: v.multiplier.0,
                components: v.components,
                services: v.services,
            },
        );
    }

    let mut entries = BTreeMap::new();
    for e in raw.entry {
        let span = e.name.span();
        let name = e.name.get_ref().trim().to_owned();
        let _ = e.description;
        if name.is_empty() {
            return Err(err(Some(span), "an entry has an empty name".into()));
        }
        if entries.contains_key(&name) {
            return Err(err(Some(span), format!("entry `{name}` appears twice")));
        }
        if let Some(v) = e.variants.iter().find(|v| !variants.contains_key(*v)) {
            return Err(err(
                Some(span),
                format!("entry `{name}` names variant `{v}`, which the file does not define"),
            ));
        }
        if e.list.is_empty() {
            return Err(err(Some(span), format!("entry `{name}` has no price list")));
        }
        let mut lists = Vec::with_capacity(e.list.len());
        for l in e.list {
            if l.figures.is_empty() {
                return Err(err(
                    Some(span.clone()),
                    format!(
                        "entry `{name}`: the list effective {} has no figures",
                        l.effective
                    ),
                ));
            }
            let mut figures: Vec<FigureData> = Vec::with_capacity(l.figures.len());
            for f in l.figures {
                let at = Some(f.price.span());
                if figures.iter().any(|g| g.component == f.component) {
                    return Err(err(
                        at,
                        format!(
                            "entry `{name}`: component `{}` appears twice in one list",
                            f.component
                        ),
                    ));
                }
                let price = f.price.get_ref().0;
                if price < Decimal::ZERO {
                    return Err(err(
                        at,
                        format!("entry `{name}`: a price cannot be negative"),
                    ));
                }
                let per = f.per.map_or(Decimal::ONE, |p| p.0);
                if per <= Decimal::ZERO {
                    return Err(err(at, format!("entry `{name}`: `per` must be above zero")));
                }
                figures.push(FigureData {
                    component: f.component,
                    price,
                    per,
                    unit: f.unit,
                    usagetype: f.usagetype,
                    sku: f.sku,
                    offer_unit: f.offer_unit,
                    source: f.source.unwrap_or_else(|| l.source.clone()),
                    checked: f.checked.map_or(l.checked, Spanned::into_inner),
                });
            }
            lists.push(PriceList {
                effective: l.effective,
                regions: l.regions,
                variant: l.variant,
                figures,
            });
        }
        entries.insert(
            name,
            Entry {
                currency: currency.clone(),
                default_region: e.default_region.or_else(|| raw.default_region.clone()),
                variants: e.variants,
                lists,
            },
        );
    }

    let mut tables = BTreeMap::new();
    tables.insert(
        provider,
        Table {
            files: vec![file.to_owned()],
            variants,
            entries,
        },
    );
    Ok(PriceBook { tables })
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
