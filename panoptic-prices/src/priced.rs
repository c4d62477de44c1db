//! What the book answers: an amount with the prices it came from, or why
//! there is none.

use std::fmt;

use chrono::NaiveDate;
use rust_decimal::Decimal;

/// One component of a priced call: stored in `metadata.price`, so history
/// is never re-priced when a table changes.
#[derive(Debug, Clone, PartialEq)]
pub struct PricedComponent {
    /// `input`, `cached_input`, `output`, `requests`, …
    pub component: String,
    /// Base units used.
    pub quantity: Decimal,
    /// The price of `per` base units (`0.15` per `1000000` tokens).
    pub unit_price: Decimal,
    /// How many base units `unit_price` buys.
    pub per: Decimal,
    /// The base unit (`tokens`, `requests`, `GB-seconds`).
    pub unit: String,
    /// `quantity / per * unit_price`, unrounded.
    pub amount: Decimal,
    /// The page the figure was read from.
    pub source: String,
    /// The day the figure was read there.
    pub checked: NaiveDate,
    /// The day the price takes effect.
    pub effective: NaiveDate,
}

/// A call priced by the book.
#[derive(Debug, Clone, PartialEq)]
pub struct Priced {
    /// The sum of the components' amounts (list price, no free tier).
    pub amount: Decimal,
    /// ISO 4217.
    pub currency: String,
    /// The book entry that priced it (`openai/gpt-4o-mini`, after
    /// resolving a dated snapshot name).
    pub entry: String,
    /// The variant applied (`batch`), if any.
    pub variant: Option<String>,
    /// Component by component.
    pub components: Vec<PricedComponent>,
}

/// Why a call has no price. Never a silent zero: the event stores this in
/// `metadata.unpriced`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unpriced {
    /// The book has no table for this provider (GCP is priced by
    /// `panoptic-gcp`, user-defined providers by the user).
    NoBook {
        /// As asked.
        provider: String,
    },
    /// The provider's table has no such model or SKU.
    UnknownItem {
        /// Provider.
        provider: String,
        /// Model or SKU as given.
        item: String,
    },
    /// The entry exists but has no price for a component used.
    UnknownComponent {
        /// The entry.
        entry: String,
        /// The component.
        component: String,
    },
    /// No price of the entry names the region.
    UnknownRegion {
        /// The entry.
        entry: String,
        /// As asked.
        region: String,
    },
    /// The entry's prices all start after the day asked.
    NotYetEffective {
        /// The entry.
        entry: String,
        /// The day asked.
        on: NaiveDate,
    },
    /// The entry has no such variant (`batch`).
    UnknownVariant {
        /// The entry.
        entry: String,
        /// As asked.
        variant: String,
    },
}

impl Unpriced {
    /// The name a warning is given once for (`openai/gpt-9`).
    pub fn subject(&self) -> String {
        match self {
            Unpriced::NoBook { provider } => provider.clone(),
            Unpriced::UnknownItem { provider, item } => format!("{provider}/{item}"),
            Unpriced::UnknownComponent { entry, .. }
            | Unpriced::UnknownRegion { entry, .. }
            | Unpriced::NotYetEffective { entry, .. }
            | Unpriced::UnknownVariant { entry, .. } => entry.clone(),
        }
    }
}

impl fmt::Display for Unpriced {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unpriced::NoBook { provider } => write!(f, "no price book for provider `{provider}`"),
            Unpriced::UnknownItem { provider, item } => {
                write!(f, "`{item}` is not in the {provider} price book")
            }
            Unpriced::UnknownComponent { entry, component } => {
                write!(f, "{entry} has no price for `{component}`")
            }
            Unpriced::UnknownRegion { entry, region } => {
                write!(f, "{entry} has no price in region `{region}`")
            }
            Unpriced::NotYetEffective { entry, on } => {
                write!(f, "{entry} has no price effective on {on}")
            }
            Unpriced::UnknownVariant { entry, variant } => {
                write!(f, "{entry} has no `{variant}` price")
            }
        }
    }
}

impl std::error::Error for Unpriced {}
