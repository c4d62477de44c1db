//! A call measured outside `#[billable]` (a `tracing` span, say), billed
//! by the same rules: a given amount wins, else the price book prices its
//! usage, else it is stored without an amount and says why.

use std::time::Duration;

use bson::Document;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::event::{BillingEvent, Category, Kind, Metadata, Outcome};
use crate::handle::Panoptic;
use crate::keys::metadata as meta_keys;
use panoptic_catalog::Provider;
use panoptic_prices::Usage;

/// One call seen by an integration, for [`Panoptic::emit_observed`].
///
/// ```no_run
/// # let panoptic = panoptic_core::Panoptic::builder().username("ann").build().unwrap();
/// let mut call = panoptic_core::ObservedCall::new("openai", "ChatCompletions", "summarize");
/// call.usage = Some(
///     panoptic_core::Usage::new("gpt-4o-mini")
///         .with("input", 1_000.into())
///         .with("output", 500.into()),
/// );
/// panoptic.emit_observed(call);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ObservedCall {
    /// Provider name as given: a name the catalog does not know is stored
    /// as given, unpriced.
    pub provider: String,
    /// Service name as given.
    pub service: String,
    /// What is billed.
    pub resource: String,
    /// `token_usage` for token calls, else `invoice`.
    pub kind: Kind,
    /// How the call ended.
    pub outcome: Outcome,
    /// The error's text, when it ended in one.
    pub error: Option<String>,
    /// How long it ran.
    pub duration: Option<Duration>,
    /// When it ended (default: when emitted).
    pub ended: Option<DateTime<Utc>>,
    /// An amount given: it wins over the price book.
    pub amount: Option<Decimal>,
    /// The currency of a given amount (default `USD`).
    pub currency: Option<String>,
    /// How much was used (default: the usage's total, else 1).
    pub quantity: Option<f64>,
    /// Unit of `quantity` (default: the usage's, else `call`).
    pub unit: Option<String>,
    /// What it used, priced from the book when no amount is given.
    pub usage: Option<Usage>,
    /// Set when the integration knows the call cannot be priced (a
    /// provider the catalog does not know): stored as `metadata.unpriced`,
    /// and no amount is stored, given or not.
    pub unpriced: Option<String>,
    /// The end user it was for.
    pub user: Option<String>,
    /// The request it belongs to.
    pub request_id: Option<String>,
    /// `metadata.function_name` (a span's name).
    pub function_name: Option<String>,
    /// `metadata.module_path`.
    pub module_path: Option<String>,
    /// Any other metadata (never overrides the keys above).
    pub extra: Document,
}

impl ObservedCall {
    /// A call of `provider`'s `service` for `resource`, ended `ok`, with
    /// nothing else known yet.
    pub fn new(
        provider: impl Into<String>,
        service: impl Into<String>,
        resource: impl Into<String>,
    ) -> ObservedCall {
        ObservedCall {
            provider: provider.into(),
            service: service.into(),
            resource: resource.into(),
            kind: Kind::Invoice,
            outcome: Outcome::Ok,
            error: None,
            duration: None,
            ended: None,
            amount: None,
            currency: None,
            quantity: None,
            unit: None,
            usage: None,
            unpriced: None,
            user: None,
            request_id: None,
            function_name: None,
            module_path: None,
            extra: Document::new(),
        }
    }
}

impl Panoptic {
    /// Bills a call measured elsewhere, as one event of this handle, sent
    /// to MongoDB directly (not through the slog drains). Priced here, on
    /// the calling thread, from the price book in force on its day.
    pub fn emit_observed(&self, call: ObservedCall) {
        let ended = call.ended.unwrap_or_else(Utc::now);
        let known = Provider::parse(&call.provider);
        let category = known.map_or(Category::Infra, |p| p.category_of(&call.service));
        let mut extra = call.extra;
        let (amount, currency, quantity, priced) = match call.unpriced {
            Some(reason) => {
                if let Some(given) = call.amount {
                    // Kept where no report sums it: the call is unpriced.
                    extra.insert(meta_keys::AMOUNT_GIVEN, crate::money::to_decimal128(given));
                }
                extra.insert(meta_keys::UNPRICED, reason);
                (None, None, None, Document::new())
            }
            None => {
                let pricing = crate::deliver::pricing::price_usage(
                    &call.provider,
                    &call.service,
                    call.amount,
                    call.usage.as_ref(),
                    "no amount given, and no usage recorded",
                    ended.date_naive(),
                );
                if let Some(warning) = pricing.warning {
                    crate::report::write_line(&format!("panoptic: warning: {warning}"));
                }
                (
                    pricing.amount,
                    pricing.currency,
                    pricing.quantity,
                    pricing.metadata.into_document(),
                )
            }
        };
        for (key, value) in priced {
            extra.insert(key, value);
        }
        let (quantity, unit) = match (call.quantity, quantity) {
            (Some(given), usage) => (
                given,
                call.unit
                    .or(usage.map(|(_, unit)| unit))
                    .unwrap_or_else(|| "call".to_owned()),
            ),
            (None, Some((total, unit))) => (total, call.unit.unwrap_or(unit)),
            (None, None) => (1.0, call.unit.unwrap_or_else(|| "call".to_owned())),
        };
        let mut event = self.owned_event(
            (category, &call.provider, call.service),
            call.resource,
            call.kind,
        );
        event.ts = ended;
        let event = BillingEvent {
            outcome: call.outcome,
            quantity,
            unit,
            amount,
            // A book price is in its own currency; a given amount in the one given.
            currency: currency.or(call.currency).map_or_else(
                || "USD".to_owned(),
                |given| panoptic_prices::rates::currency_code(&given).unwrap_or(given),
            ),
            metadata: Metadata {
                function_name: call.function_name,
                module_path: call.module_path,
                duration_ms: call.duration.map(|d| d.as_secs_f64() * 1000.0),
                user: call.user,
                request_id: call.request_id,
                error: call.error,
                extra,
                ..Metadata::default()
            },
            ..event
        };
        self.send_event(event);
    }
}
