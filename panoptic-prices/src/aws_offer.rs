//! Refreshing the AWS figures from the AWS Price List bulk offer files
//! (`https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/<Offer>/current/<region>/index.json`).
//!
//! This module does no HTTP: a command downloads an offer file, hands its
//! text to [`OfferFile::from_json`], shows [`changes`] against the book,
//! and writes [`apply_changes`]'s output over `data/aws.toml` (or an
//! override file) once someone agrees. The `refresh` module (feature
//! `refresh`) does those steps, the download included.
//!
//! Figures are matched by the `usagetype` (and `sku`, when the book has
//! one) they carry. Only the OnDemand term's *base* rate counts: the price
//! dimension starting at zero usage (a `$0` allowance starting at zero is
//! the free tier and is skipped for the band after it). A higher tier
//! (Lambda above 6 billion GB-seconds, S3 above 50 TB) is never taken for
//! the base rate.

use std::collections::BTreeMap;
use std::fmt;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;

use crate::book::{BookError, PriceBook, parse_raw};

/// A bad offer file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferError(String);

impl fmt::Display for OfferError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AWS offer file: {}", self.0)
    }
}

impl std::error::Error for OfferError {}

/// One product (SKU) of an offer file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct OfferProduct {
    /// The SKU.
    pub sku: String,
    /// `Serverless`, `Storage`, `API Request`, …
    #[serde(default, rename = "productFamily")]
    pub product_family: Option<String>,
    /// `usagetype`, `location`, `regionCode`, `group`, …: every string
    /// attribute (other values are dropped).
    #[serde(default, deserialize_with = "string_attributes")]
    pub attributes: BTreeMap<String, String>,
}

/// One OnDemand price dimension (a tier) of a SKU.
#[derive(Debug, Clone, PartialEq)]
pub struct OfferRate {
    /// The SKU it prices.
    pub sku: String,
    /// The rate code.
    pub rate_code: String,
    /// The unit (`Requests`, `Lambda-GB-Second`, `GB-Mo`, …).
    pub unit: String,
    /// Price per one `unit`, by currency code.
    pub price_per_unit: BTreeMap<String, Decimal>,
    /// Usage (in `unit` per month) where the tier starts.
    pub begin_range: Decimal,
    /// Where it ends; `None` for `Inf`.
    pub end_range: Option<Decimal>,
    /// What AWS says it is.
    pub description: String,
    /// The term's effective date.
    pub effective: Option<NaiveDate>,
}

/// An AWS Price List offer file (one service, all or one region).
#[derive(Debug, Clone, PartialEq)]
pub struct OfferFile {
    /// `v1.0`.
    pub format_version: String,
    /// `AWSLambda`, `AmazonS3`, `AmazonDynamoDB`.
    pub offer_code: String,
    /// The version (`20260919002359`).
    pub version: String,
    /// When AWS published it (ISO 8601 text).
    pub publication_date: String,
    /// Products by SKU.
    pub products: BTreeMap<String, OfferProduct>,
    /// OnDemand rates by SKU, every tier.
    pub on_demand: BTreeMap<String, Vec<OfferRate>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawOffer {
    format_version: String,
    offer_code: String,
    version: String,
    publication_date: String,
    #[serde(default)]
    products: BTreeMap<String, OfferProduct>,
    #[serde(default)]
    terms: RawTerms,
}

#[derive(Deserialize, Default)]
struct RawTerms {
    #[serde(default, rename = "OnDemand")]
    on_demand: BTreeMap<String, BTreeMap<String, RawTerm>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawTerm {
    #[serde(default)]
    effective_date: Option<String>,
    #[serde(default)]
    price_dimensions: BTreeMap<String, RawDimension>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDimension {
    #[serde(default)]
    rate_code: Option<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    begin_range: Option<String>,
    #[serde(default)]
    end_range: Option<String>,
    unit: String,
    price_per_unit: BTreeMap<String, String>,
}

fn string_attributes<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    let all = BTreeMap::<String, Value>::deserialize(d)?;
    Ok(all
        .into_iter()
        .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_owned())))
        .collect())
}

fn decimal(text: &str, what: &str) -> Result<Decimal, OfferError> {
    let t = text.trim();
    t.parse::<Decimal>()
        .or_else(|_| Decimal::from_scientific(t))
        .map_err(|_| OfferError(format!("{what} `{text}` is not a number")))
}

impl OfferFile {
    /// Parses an offer file's JSON text (the shape the bulk API serves).
    pub fn from_json(text: &str) -> Result<OfferFile, OfferError> {
        let raw: RawOffer = serde_json::from_str(text).map_err(|e| OfferError(e.to_string()))?;
        let mut on_demand: BTreeMap<String, Vec<OfferRate>> = BTreeMap::new();
        for (sku, terms) in raw.terms.on_demand {
            for (term_code, term) in terms {
                let effective = term
                    .effective_date
                    .as_deref()
                    .and_then(|d| d.get(..10))
                    .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
                for (rate_code, dim) in term.price_dimensions {
                    let mut prices = BTreeMap::new();
                    for (currency, p) in &dim.price_per_unit {
                        prices.insert(currency.clone(), decimal(p, "pricePerUnit")?);
                    }
                    let begin = match dim.begin_range.as_deref() {
                        Some(b) => decimal(b, "beginRange")?,
                        None => Decimal::ZERO,
                    };
                    let end = match dim.end_range.as_deref() {
                        None | Some("Inf") => None,
                        Some(e) => Some(decimal(e, "endRange")?),
                    };
                    on_demand.entry(sku.clone()).or_default().push(OfferRate {
                        sku: sku.clone(),
                        rate_code: dim
                            .rate_code
                            .unwrap_or_else(|| format!("{term_code}.{rate_code}")),
                        unit: dim.unit,
                        price_per_unit: prices,
                        begin_range: begin,
                        end_range: end,
                        description: dim.description,
                        effective,
                    });
                }
            }
        }
        Ok(OfferFile {
            format_version: raw.format_version,
            offer_code: raw.offer_code,
            version: raw.version,
            publication_date: raw.publication_date,
            products: raw.products,
            on_demand,
        })
    }

    /// The base OnDemand rate of `usagetype` (optionally of one SKU, and of
    /// one region where the product names its `regionCode`): the tier that
    /// starts at zero, or the one after a `$0` free allowance.
    pub fn base_rate(
        &self,
        usagetype: &str,
        sku: Option<&str>,
        region: Option<&str>,
    ) -> Option<&OfferRate> {
        let mut skus: Vec<&OfferProduct> = self
            .products
            .values()
            .filter(|p| p.attributes.get("usagetype").map(String::as_str) == Some(usagetype))
            .filter(|p| match (region, p.attributes.get("regionCode")) {
                (Some(r), Some(code)) => code == r,
                _ => true,
            })
            .collect();
        if let Some(wanted) = sku
            && skus.iter().any(|p| p.sku == wanted)
        {
            skus.retain(|p| p.sku == wanted);
        }
        skus.iter()
            .find_map(|p| base_of(self.on_demand.get(&p.sku)?))
    }
}

fn base_of(rates: &[OfferRate]) -> Option<&OfferRate> {
    let first = rates.iter().find(|r| r.begin_range.is_zero())?;
    let free = first.price_per_unit.values().all(Decimal::is_zero);
    match (free, first.end_range) {
        (true, Some(end)) => rates.iter().find(|r| r.begin_range == end),
        _ => Some(first),
    }
}

/// A book figure whose offer-file price differs (or whose unit does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceChange {
    /// `aws/lambda-arm64`.
    pub entry: String,
    /// `gb_seconds`.
    pub component: String,
    /// The list's region, if it names one.
    pub region: Option<String>,
    /// The book's price, per `per` units.
    pub old: Decimal,
    /// The offer's base rate, per `per` units (its per-unit price × `per`).
    pub new: Decimal,
    /// Whether the offer's unit is the one the book expects (`offer_unit`,
    /// else its `unit`, compared case-insensitively). A mismatch means the
    /// figures may not be comparable: [`apply_changes`] refuses it.
    pub unit_matches: bool,
    /// The book's `per`.
    pub per: Decimal,
    /// The book's unit.
    pub unit: String,
    /// The offer's unit.
    pub offer_unit: String,
    /// The usage type matched.
    pub usagetype: String,
    /// The SKU the rate came from.
    pub sku: String,
    /// The effective date of the book list that holds the figure (how
    /// [`apply_changes`] finds it).
    pub list_effective: NaiveDate,
    /// The offer term's effective date.
    pub offer_effective: Option<NaiveDate>,
}

/// Compares the AWS figures in force on `on` with `offer`'s base rates.
/// Figures whose usage type the offer does not list are left out (each
/// offer file holds one service). Rates without the book's currency are
/// left out too.
pub fn changes(book: &PriceBook, offer: &OfferFile, on: NaiveDate) -> Vec<PriceChange> {
    let mut out = Vec::new();
    for f in book.current_figures("aws", on) {
        let Some(usagetype) = f.usagetype.as_deref() else {
            continue;
        };
        let Some(rate) = offer.base_rate(usagetype, f.sku.as_deref(), f.region.as_deref()) else {
            continue;
        };
        let Some(per_unit) = rate.price_per_unit.get(&f.currency) else {
            continue;
        };
        let new = (*per_unit * f.per).normalize();
        let expected = f.offer_unit.as_deref().unwrap_or(&f.unit);
        let unit_matches = expected.eq_ignore_ascii_case(rate.unit.trim());
        if new == f.price && unit_matches {
            continue;
        }
        out.push(PriceChange {
            entry: f.entry,
            component: f.component,
            region: f.region,
            old: f.price,
            new,
            unit_matches,
            per: f.per,
            unit: f.unit,
            offer_unit: rate.unit.clone(),
            usagetype: usagetype.to_owned(),
            sku: rate.sku.clone(),
            list_effective: f.list_effective,
            offer_effective: rate.effective,
        });
    }
    out
}

/// Writes `changes` into `toml_text` (a price file in the book's format):
/// each changed figure's `price` is replaced in place, everything else
/// (comments, layout) is kept. The caller bumps `checked` and, to keep the
/// old figure as history, copies the list under a new `effective` first.
///
/// Refuses a change whose unit does not match, and one whose figure is not
/// in the text; the result is parsed again before it is returned.
pub fn apply_changes(toml_text: &str, changes: &[PriceChange]) -> Result<String, BookError> {
    rewrite(toml_text, changes, None)
}

/// [`apply_changes`], and each changed figure's own `checked` set to
/// `checked` (added to the figure when it has none), so that its age says
/// when the offer file was read rather than when the list was first typed.
pub fn apply_changes_checked(
    toml_text: &str,
    changes: &[PriceChange],
    checked: NaiveDate,
) -> Result<String, BookError> {
    rewrite(toml_text, changes, Some(checked))
}

fn rewrite(
    toml_text: &str,
    changes: &[PriceChange],
    checked: Option<NaiveDate>,
) -> Result<String, BookError> {
    const FILE: &str = "aws.toml";
    let raw = parse_raw(FILE, toml_text)?;
    let mut edits: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    for c in changes {
        if !c.unit_matches {
            return Err(BookError::new(
                FILE,
                None,
                format!(
                    "{} {}: the offer's unit `{}` is not the book's; fix the figure by hand",
                    c.entry, c.component, c.offer_unit
                ),
            ));
        }
        let name = c.entry.split_once('/').map_or(c.entry.as_str(), |(_, n)| n);
        let figure = raw
            .entry
            .iter()
            .filter(|e| e.name.get_ref() == name)
            .flat_map(|e| e.list.iter())
            .filter(|l| l.effective == c.list_effective)
            .filter(|l| match &c.region {
                Some(r) => l.regions.is_empty() || l.regions.contains(r),
                None => l.regions.is_empty(),
            })
            .flat_map(|l| l.figures.iter())
            .find(|f| f.component == c.component)
            .ok_or_else(|| {
                BookError::new(
                    FILE,
                    None,
                    format!(
                        "{} {} (list of {}) is not in this file",
                        c.entry, c.component, c.list_effective
                    ),
                )
            })?;
        let span = figure.price.span();
        if let Some(day) = checked {
            match &figure.checked {
                Some(old) => edits.push((old.span(), format!("\"{day}\""))),
                // An inline table: a key added right after the price.
                None => edits.push((span.end..span.end, format!(", checked = \"{day}\""))),
            }
        }
        edits.push((span, format!("\"{}\"", c.new)));
    }
    // From the end, so earlier byte ranges stay valid.
    edits.sort_by_key(|e| std::cmp::Reverse(e.0.start));
    edits.dedup_by(|a, b| a.0 == b.0);
    let mut text = toml_text.to_owned();
    for (span, value) in edits {
        text.replace_range(span, &value);
    }
    PriceBook::from_toml("aws", &text)?;
    Ok(text)
}
