//! What one call used, by price component: the input of the price book.

use rust_decimal::Decimal;

/// How much of one price component a call used, in the component's base
/// unit (tokens, requests, GB-seconds, characters, minutes, …), before any
/// `per 1M` scaling: the book divides by its `per`.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantity {
    /// The component's name in the book (`input`, `cached_input`, `output`,
    /// `requests`, `gb_seconds`, …).
    pub component: String,
    /// How many base units.
    pub amount: Decimal,
}

/// What a call used, as read from its response (or given by the caller).
///
/// ```
/// use panoptic_prices::Usage;
/// use rust_decimal::Decimal;
///
/// let usage = Usage::new("gpt-4o-mini-2024-07-18")
///     .with("input", Decimal::from(800))
///     .with("cached_input", Decimal::from(200))
///     .with("output", Decimal::from(500))
///     .total(Decimal::from(1500), "tokens");
/// assert_eq!(usage.quantities.len(), 3);
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Usage {
    /// The model or SKU the book looks up (`gpt-4o-mini-2024-07-18`,
    /// `lambda`, `s3-standard`, `M10`).
    pub item: String,
    /// Overrides the call site's service for the lookup, when the usage
    /// knows better (an S3 call billed under a different service name).
    pub service: Option<String>,
    /// Where prices differ by region; `None` takes the book's default.
    pub region: Option<String>,
    /// A price variant (`batch`), when the usage knows it.
    pub variant: Option<String>,
    /// Billed quantities by component. Components are disjoint: cached
    /// input tokens are not also counted in `input`.
    pub quantities: Vec<Quantity>,
    /// Raw counts as the provider reported them, stored as `metadata.usage`
    /// (for tokens: input, cached_input, output, reasoning).
    pub details: Vec<(String, Decimal)>,
    /// The event's `quantity` and `unit` (total tokens, `tokens`).
    pub total: Option<(Decimal, String)>,
    /// Set when some figure is an estimate (a stream cut short).
    pub estimated: bool,
}

impl Usage {
    /// Usage of `item`, with nothing used yet.
    pub fn new(item: impl Into<String>) -> Usage {
        Usage {
            item: item.into(),
            ..Usage::default()
        }
    }

    /// Adds `amount` base units of `component` (and the same raw detail).
    pub fn with(mut self, component: &str, amount: Decimal) -> Usage {
        self.quantities.push(Quantity {
            component: component.to_owned(),
            amount,
        });
        self
    }

    /// Adds a raw count for `metadata.usage` only (not priced).
    pub fn detail(mut self, name: &str, value: Decimal) -> Usage {
        self.details.push((name.to_owned(), value));
        self
    }

    /// The event's quantity and unit.
    pub fn total(mut self, quantity: Decimal, unit: &str) -> Usage {
        self.total = Some((quantity, unit.to_owned()));
        self
    }

    /// In a region.
    pub fn in_region(mut self, region: impl Into<String>) -> Usage {
        self.region = Some(region.into());
        self
    }

    /// A price variant (`batch`).
    pub fn variant(mut self, variant: impl Into<String>) -> Usage {
        self.variant = Some(variant.into());
        self
    }

    /// Marks the figures as estimated.
    pub fn estimated(mut self) -> Usage {
        self.estimated = true;
        self
    }
}

/// A value that says what it used: implement it for a response type so a
/// `#[billable]` function returning it (bare or in `Ok`) is priced from
/// the book with no extra key.
///
/// ```
/// use panoptic_prices::{Metered, Usage};
/// use rust_decimal::Decimal;
///
/// struct MyLlmReply { model: String, prompt: u32, completion: u32 }
///
/// impl Metered for MyLlmReply {
///     fn usage(&self) -> Option<Usage> {
///         Some(Usage::new(&self.model)
///             .with("input", Decimal::from(self.prompt))
///             .with("output", Decimal::from(self.completion))
///             .total(Decimal::from(self.prompt + self.completion), "tokens"))
///     }
/// }
/// ```
pub trait Metered {
    /// What was used, or `None` when the value does not say.
    fn usage(&self) -> Option<Usage>;
}

impl<T: Metered + ?Sized> Metered for &T {
    fn usage(&self) -> Option<Usage> {
        (**self).usage()
    }
}

impl<T: Metered + ?Sized> Metered for Box<T> {
    fn usage(&self) -> Option<Usage> {
        (**self).usage()
    }
}

impl Metered for Usage {
    fn usage(&self) -> Option<Usage> {
        Some(self.clone())
    }
}
