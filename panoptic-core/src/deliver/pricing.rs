//! Prices a finished call on the writer thread, never the caller's: an
//! amount the user gave wins; else the price book prices the usage the
//! call reported; else the event has no amount and says why.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use bson::{Bson, Document, doc};
use chrono::NaiveDate;
use panoptic_prices::{PriceBook, Priced, Usage};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use crate::call_event::CallExtras;
use crate::keys::metadata as meta_keys;
use crate::money::to_decimal128;
use crate::site::CallSite;

/// The book calls are priced with: [`PriceBook::current`], the shipped
/// tables overridden by the files named in `PANOPTIC_PRICES`.
pub fn price_book() -> &'static PriceBook {
    PriceBook::current()
}

/// What pricing decided for one call.
pub(crate) struct Pricing {
    pub amount: Option<Decimal>,
    /// The currency of an amount the book priced (its price's); `None`
    /// for a given amount, which is in the call site's `currency`.
    pub currency: Option<String>,
    /// The usage's total (tokens, GB-seconds), when it has one.
    pub quantity: Option<(f64, String)>,
    /// `price`, `usage`, `unpriced`, `estimated`, `priced_by`.
    pub metadata: Fields,
    /// Set the first time a name the book does not know is seen: the
    /// writer reports it once.
    pub warning: Option<String>,
}

/// Prices one call of `site` that ended on `day` (UTC).
pub(crate) fn price_call(
    site: &CallSite,
    extras: Option<&CallExtras>,
    duration: Duration,
    day: NaiveDate,
) -> Pricing {
    let usage = match extras.and_then(|e| e.usage.clone()) {
        Some(usage) => Some(usage),
        None if site.is_aws_lambda() => lambda_usage(extras, duration),
        None => None,
    };
    let no_usage = if site.is_aws_lambda() {
        "not running in AWS Lambda (AWS_LAMBDA_FUNCTION_MEMORY_SIZE is not set) and no amount given"
    } else if site.is_aws_dynamodb() {
        // The SDK's outputs are empty of capacity unless the request asked.
        "no amount given, and the return value reports no consumed capacity \
         (set ReturnConsumedCapacity on the request, or give `usage`)"
    } else {
        "no amount given, and the return value reports no usage"
    };
    price_usage(
        site.provider.as_str(),
        site.service,
        extras.and_then(|e| e.amount),
        usage.as_ref(),
        no_usage,
        day,
    )
}

/// Prices what `provider`'s `service` used on `day`: a `given` amount
/// wins, else the book prices `usage`, else the event is unpriced with
/// `no_usage` as the reason.
pub(crate) fn price_usage(
    provider: &str,
    service: &str,
    given: Option<Decimal>,
    usage: Option<&Usage>,
    no_usage: &'static str,
    day: NaiveDate,
) -> Pricing {
    let mut pricing = Pricing {
        amount: given,
        currency: None,
        quantity: None,
        metadata: Fields::default(),
        warning: None,
    };
    if let Some(usage) = usage {
        pricing.quantity = usage
            .total
            .as_ref()
            .and_then(|(q, unit)| Some((q.to_f64()?, unit.clone())));
        if !usage.details.is_empty() {
            pricing
                .metadata
                .set(meta_keys::USAGE, Bson::from(usage_document(usage)));
        }
        if usage.estimated {
            pricing.metadata.set(meta_keys::ESTIMATED, Bson::from(true));
        }
    }
    if pricing.amount.is_some() {
        pricing.metadata.set(meta_keys::PRICED_BY, "given");
        return pricing;
    }
    let Some(usage) = usage else {
        pricing.metadata.set(meta_keys::UNPRICED, no_usage);
        return pricing;
    };
    let book = price_book();
    match book.price(provider, service, usage, day) {
        Ok(priced) => {
            pricing.amount = Some(priced.amount);
            pricing.currency = Some(priced.currency.clone());
            pricing.metadata.set(meta_keys::PRICED_BY, "price_book");
            pricing
                .metadata
                .set(meta_keys::PRICE, Bson::from(price_document(&priced)));
        }
        Err(unpriced) => {
            pricing
                .metadata
                .set(meta_keys::UNPRICED, Bson::from(unpriced.to_string()));
            if book.has_provider(provider) && first_time(&unpriced.subject()) {
                pricing.warning = Some(format!(
                    "{unpriced}: such calls are stored with no amount (metadata.unpriced); \
                     add the price with PANOPTIC_PRICES or give `amount`"
                ));
            }
        }
    }
    pricing
}

/// Metadata fields in the order they were set, their keys known when
/// compiled: what pricing and the call add to a document, without a map
/// built, hashed and dropped per event. Setting a key again replaces its
/// value in place, as in a [`Document`].
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Fields(Vec<(&'static str, Field)>);

/// A field's value: most reasons are fixed text, kept without a copy.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Field {
    Text(&'static str),
    Bson(Bson),
}

impl From<&'static str> for Field {
    fn from(text: &'static str) -> Field {
        Field::Text(text)
    }
}

impl From<Bson> for Field {
    fn from(value: Bson) -> Field {
        Field::Bson(value)
    }
}

impl Fields {
    pub fn set(&mut self, key: &'static str, value: impl Into<Field>) {
        let value = value.into();
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some((_, slot)) => *slot = value,
            None => self.0.push((key, value)),
        }
    }

    pub fn has(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| *k == key)
    }

    pub fn remove(&mut self, key: &str) {
        self.0.retain(|(k, _)| *k != key);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Appends the fields whose key `skip` does not name, as BSON elements.
    pub fn write(&self, out: &mut Vec<u8>, skip: impl Fn(&str) -> bool) -> Result<(), String> {
        for (key, value) in self.0.iter().filter(|(key, _)| !skip(key)) {
            match value {
                Field::Text(text) => panoptic_spool::bson_bytes::put_str(out, key, text)?,
                Field::Bson(value) => {
                    panoptic_spool::bson_bytes::put_elements(out, [(*key, value)])?
                }
            }
        }
        Ok(())
    }

    pub fn into_document(self) -> Document {
        self.0
            .into_iter()
            .map(|(key, value)| {
                let value = match value {
                    Field::Text(text) => Bson::String(text.to_owned()),
                    Field::Bson(value) => value,
                };
                (key.to_owned(), value)
            })
            .collect()
    }
}

/// Whether `subject` is warned about for the first time in this process.
fn first_time(subject: &str) -> bool {
    static WARNED: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    let mut warned = WARNED.lock().unwrap_or_else(|e| e.into_inner());
    warned
        .get_or_insert_with(HashSet::new)
        .insert(subject.to_owned())
}

/// A Lambda invocation's usage from its measured duration, when running
/// inside Lambda (which sets the memory size in the environment).
///
/// A call inside an invocation another call pays for bills nothing: its
/// time is inside the invocation's (nested or on another task).
fn lambda_usage(extras: Option<&CallExtras>, duration: Duration) -> Option<Usage> {
    let memory = panoptic_prices::aws::lambda_memory_from_env()?;
    let inside = extras.is_some_and(|e| e.inside_lambda);
    let arch = panoptic_prices::aws::Architecture::of_build_target();
    let usage = if inside {
        panoptic_prices::aws::lambda_inside_invocation(memory, duration, arch)
    } else {
        panoptic_prices::aws::lambda_invocation(memory, duration, arch, true)
    };
    Some(usage.in_region(panoptic_prices::aws::region_from_env()))
}

/// `metadata.price`: the entry, the currency and each component's figures,
/// so the amount can be checked and is never re-priced.
pub fn price_document(priced: &Priced) -> Document {
    let mut components = Document::new();
    for c in &priced.components {
        components.insert(
            c.component.clone(),
            doc! {
                "quantity": to_decimal128(c.quantity),
                "unit_price": to_decimal128(c.unit_price),
                "per": to_decimal128(c.per),
                "unit": c.unit.clone(),
                "amount": to_decimal128(c.amount),
                "source": c.source.clone(),
                "checked": c.checked.to_string(),
                "effective": c.effective.to_string(),
            },
        );
    }
    let mut document = doc! {
        "entry": priced.entry.clone(),
        "currency": priced.currency.clone(),
    };
    if let Some(variant) = &priced.variant {
        document.insert("variant", variant.clone());
    }
    document.insert("components", components);
    document
}

/// `metadata.usage`: whole counts as integers, anything else as Decimal128.
fn usage_document(usage: &Usage) -> Document {
    usage
        .details
        .iter()
        .map(|(name, value)| {
            let value = match value.to_i64() {
                Some(whole) if Decimal::from(whole) == *value => Bson::Int64(whole),
                _ => Bson::Decimal128(to_decimal128(*value)),
            };
            (name.clone(), value)
        })
        .collect()
}
