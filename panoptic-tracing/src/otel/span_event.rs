//! A `#[billable]` call made inside a live OpenTelemetry span, exported as
//! an event on that span, on the caller's thread as the call ends: the
//! span may end before the writer stores the call. Priced here, as the
//! writer prices it (a given amount, else the book), so the event carries
//! its cost.

use std::time::SystemTime;

use chrono::Utc;
use opentelemetry::KeyValue;
use opentelemetry::trace::SpanRef;
use panoptic_core::call_hook::EndedCall;
use panoptic_core::catalog::Category;
use rust_decimal::prelude::ToPrimitive;

use super::attributes::panoptic;
use crate::names::gen_ai;

/// The event's name on the caller's span.
pub const EVENT_NAME: &str = "panoptic.billing";

/// Adds the call's event to `span`.
pub(crate) fn add(span: &SpanRef<'_>, call: &EndedCall<'_>) {
    let provider = call.provider();
    let usage = call.usage();
    let count = |name: &str| {
        let usage = usage?;
        usage
            .details
            .iter()
            .find(|(detail, _)| detail == name)
            .map(|(_, count)| count)
            .or_else(|| {
                usage
                    .quantities
                    .iter()
                    .find(|q| q.component == name)
                    .map(|q| &q.amount)
            })
            .and_then(|count| count.to_i64())
    };
    let mut attributes = vec![
        KeyValue::new(panoptic::PROVIDER, provider.as_str()),
        KeyValue::new(panoptic::SERVICE, call.service()),
        KeyValue::new(panoptic::RESOURCE, call.resource().to_owned()),
        KeyValue::new(panoptic::OUTCOME, call.outcome().as_str()),
        KeyValue::new(
            "panoptic.duration_ms",
            call.duration().as_secs_f64() * 1000.0,
        ),
    ];
    if let Some(error) = call.error() {
        attributes.push(KeyValue::new("error.type", error.to_owned()));
    }
    let genai = provider.category_of(call.service()) == Category::Ai
        && (count("input").is_some() || count("output").is_some());
    if genai {
        attributes.push(KeyValue::new(gen_ai::PROVIDER_NAME, provider.as_str()));
        if let Some(usage) = usage {
            attributes.push(KeyValue::new(gen_ai::REQUEST_MODEL, usage.item.clone()));
        }
        for (key, name) in [
            (gen_ai::INPUT_TOKENS, "input"),
            (gen_ai::OUTPUT_TOKENS, "output"),
            (gen_ai::CACHE_READ_INPUT_TOKENS, "cached_input"),
        ] {
            if let Some(count) = count(name).filter(|c| *c > 0 || name != "cached_input") {
                attributes.push(KeyValue::new(key, count));
            }
        }
    }
    let (amount_key, currency_key, source_key) = if genai {
        (
            gen_ai::COST_AMOUNT,
            gen_ai::COST_CURRENCY,
            gen_ai::COST_SOURCE,
        )
    } else {
        (
            panoptic::COST_AMOUNT,
            panoptic::COST_CURRENCY,
            panoptic::COST_SOURCE,
        )
    };
    // What the writer will store: a given amount wins, else the book's.
    let priced = match (call.amount(), usage) {
        (Some(given), _) => Some((given, call.currency().to_owned(), "provider")),
        (None, Some(usage)) => panoptic_core::price_book()
            .price(
                provider.as_str(),
                call.service(),
                usage,
                Utc::now().date_naive(),
            )
            .ok()
            .map(|priced| (priced.amount, priced.currency, "local")),
        (None, None) => None,
    };
    if let Some((amount, currency, source)) = priced
        && let Some(amount) = amount.to_f64()
    {
        attributes.push(KeyValue::new(amount_key, amount));
        attributes.push(KeyValue::new(currency_key, currency));
        attributes.push(KeyValue::new(source_key, source));
    }
    span.add_event_with_timestamp(EVENT_NAME, SystemTime::now(), attributes);
}
