//! Reading a price file: the TOML as written (money as exact text), then
//! checked and turned into one provider's table. Errors carry the line.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use toml::Spanned;

use super::{BookError, Entry, FigureData, PriceBook, PriceList, Table, Variant};

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

pub(super) fn parse(
    provider: Option<&str>,
    file: &str,
    text: &str,
) -> Result<PriceBook, BookError> {
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
