//! A stored billing event as OpenTelemetry attributes: the GenAI ones
//! (with the cost attributes of semantic-conventions-genai#443) for token
//! calls, `panoptic.cost.*` for every other provider.

use opentelemetry::KeyValue;
use panoptic_core::{BillingEvent, Kind};
use rust_decimal::prelude::ToPrimitive;

use crate::names::gen_ai;

/// `panoptic.*` attribute names.
pub mod panoptic {
    /// The event's id in MongoDB (hex): the span, or span event, of one
    /// stored event.
    pub const EVENT_ID: &str = "panoptic.event_id";
    /// Provider, as stored.
    pub const PROVIDER: &str = "panoptic.provider";
    /// Service, as stored.
    pub const SERVICE: &str = "panoptic.service";
    /// What was billed.
    pub const RESOURCE: &str = "panoptic.resource";
    /// `ok`, `error`, `panic`, `cancelled`, `refused`.
    pub const OUTCOME: &str = "panoptic.outcome";
    /// The stored quantity and its unit.
    pub const QUANTITY: &str = "panoptic.quantity";
    /// The unit of the quantity.
    pub const UNIT: &str = "panoptic.unit";
    /// The amount (a double: OTLP has no decimal), on non-GenAI calls.
    pub const COST_AMOUNT: &str = "panoptic.cost.amount";
    /// Its currency.
    pub const COST_CURRENCY: &str = "panoptic.cost.currency";
    /// `local` (panoptic's price book or calculator) or `provider` (an
    /// amount the call was given).
    pub const COST_SOURCE: &str = "panoptic.cost.source";
    /// Why the call has no amount.
    pub const COST_UNPRICED: &str = "panoptic.cost.unpriced";
}

/// The GenAI facts of a token call, when the event is one.
pub(crate) struct GenAi {
    pub operation: &'static str,
    pub model: Option<String>,
    pub input: Option<i64>,
    pub output: Option<i64>,
    pub cached: Option<i64>,
}

impl GenAi {
    /// `Some` for an event of kind `token_usage` or with token counts.
    pub fn of(event: &BillingEvent) -> Option<GenAi> {
        let usage = event.metadata.usage();
        let count = |name: &str| usage.and_then(|u| u.get_i64(name).ok());
        let (input, output) = (count("input"), count("output"));
        if event.kind != Kind::TokenUsage && input.is_none() && output.is_none() {
            return None;
        }
        // The book's entry is `provider/model`: the model that was priced.
        let model = event
            .metadata
            .price()
            .and_then(|p| p.get_str("entry").ok())
            .and_then(|entry| entry.split_once('/'))
            .map(|(_, model)| model.to_owned());
        Some(GenAi {
            operation: operation_name(&event.service),
            model,
            input,
            output,
            cached: count("cached_input").filter(|c| *c > 0),
        })
    }

    /// The span's name as the GenAI conventions write it: `chat gpt-4o`.
    pub fn span_name(&self) -> String {
        match &self.model {
            Some(model) => format!("{} {model}", self.operation),
            None => self.operation.to_owned(),
        }
    }
}

/// The GenAI operation a service of panoptic's catalog performs.
fn operation_name(service: &str) -> &'static str {
    match service {
        "Embeddings" => "embeddings",
        "Responses" => "generate_content",
        _ => "chat",
    }
}

/// Where the amount came from: `provider` for one the call was given
/// (the response carried it), `local` for panoptic's own pricing.
pub(crate) fn cost_source(event: &BillingEvent) -> &'static str {
    match event.metadata.priced_by() {
        Some("given") => "provider",
        _ => "local",
    }
}

/// The amount as a double (OTLP has no decimal type): the conversion
/// happens here, at the boundary, and nowhere else.
pub(crate) fn amount_f64(event: &BillingEvent) -> Option<f64> {
    event.amount.and_then(|amount| amount.to_f64())
}

/// Every attribute of an event's span (or span event).
pub(crate) fn event_attributes(event: &BillingEvent, genai: Option<&GenAi>) -> Vec<KeyValue> {
    let mut attributes = vec![
        KeyValue::new(panoptic::EVENT_ID, event.id.to_hex()),
        KeyValue::new(panoptic::PROVIDER, event.provider.clone()),
        KeyValue::new(panoptic::SERVICE, event.service.clone()),
        KeyValue::new(panoptic::RESOURCE, event.resource.clone()),
        KeyValue::new(panoptic::OUTCOME, event.outcome.as_str()),
        KeyValue::new(panoptic::QUANTITY, event.quantity),
        KeyValue::new(panoptic::UNIT, event.unit.clone()),
    ];
    if let Some(error) = &event.metadata.error {
        attributes.push(KeyValue::new("error.type", error.clone()));
    }
    let (amount_key, currency_key, source_key) = match genai {
        Some(genai) => {
            attributes.push(KeyValue::new(gen_ai::PROVIDER_NAME, event.provider.clone()));
            attributes.push(KeyValue::new(gen_ai::OPERATION_NAME, genai.operation));
            if let Some(model) = &genai.model {
                attributes.push(KeyValue::new(gen_ai::REQUEST_MODEL, model.clone()));
            }
            for (key, count) in [
                (gen_ai::INPUT_TOKENS, genai.input),
                (gen_ai::OUTPUT_TOKENS, genai.output),
                (gen_ai::CACHE_READ_INPUT_TOKENS, genai.cached),
            ] {
                if let Some(count) = count {
                    attributes.push(KeyValue::new(key, count));
                }
            }
            (
                gen_ai::COST_AMOUNT,
                gen_ai::COST_CURRENCY,
                gen_ai::COST_SOURCE,
            )
        }
        None => (
            panoptic::COST_AMOUNT,
            panoptic::COST_CURRENCY,
            panoptic::COST_SOURCE,
        ),
    };
    match amount_f64(event) {
        Some(amount) => {
            attributes.push(KeyValue::new(amount_key, amount));
            attributes.push(KeyValue::new(currency_key, event.currency.clone()));
            attributes.push(KeyValue::new(source_key, cost_source(event)));
        }
        None => {
            if let Some(reason) = event.metadata.unpriced() {
                attributes.push(KeyValue::new(panoptic::COST_UNPRICED, reason.to_owned()));
            }
        }
    }
    attributes
}
