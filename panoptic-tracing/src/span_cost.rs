//! What a cost-carrying span has recorded so far: its fields as they are
//! given (at creation or by `record`), kept in the span's extensions.

use std::fmt;
use std::time::Instant;

use panoptic_core::IntoAmount;
use rust_decimal::Decimal;
use tracing::field::{Field, Visit};

use crate::names::{self, gen_ai};

/// The recorded values of one span.
#[derive(Debug)]
pub(crate) struct SpanCost {
    pub started: Instant,
    pub provider: Option<String>,
    pub service: Option<String>,
    pub resource: Option<String>,
    pub amount: Option<Decimal>,
    /// An `amount` was recorded that is not a number.
    pub amount_invalid: bool,
    pub quantity: Option<f64>,
    pub unit: Option<String>,
    pub currency: Option<String>,
    pub error: Option<String>,
    pub outcome: Option<String>,
    pub user: Option<String>,
    pub request_id: Option<String>,
    /// `usage.item`, `usage.region`, `usage.variant`.
    pub usage_item: Option<String>,
    pub usage_region: Option<String>,
    pub usage_variant: Option<String>,
    /// `usage.<component>` values, in the order first recorded.
    pub components: Vec<(&'static str, Decimal)>,
    pub gen_ai_provider: Option<String>,
    pub gen_ai_operation: Option<String>,
    pub request_model: Option<String>,
    pub response_model: Option<String>,
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub cache_read_tokens: Option<u64>,
}

impl SpanCost {
    pub fn new() -> SpanCost {
        SpanCost {
            started: Instant::now(),
            provider: None,
            service: None,
            resource: None,
            amount: None,
            amount_invalid: false,
            quantity: None,
            unit: None,
            currency: None,
            error: None,
            outcome: None,
            user: None,
            request_id: None,
            usage_item: None,
            usage_region: None,
            usage_variant: None,
            components: Vec::new(),
            gen_ai_provider: None,
            gen_ai_operation: None,
            request_model: None,
            response_model: None,
            input_tokens: None,
            output_tokens: None,
            cache_read_tokens: None,
        }
    }

    /// The slot of a field whose value is text, if `name` is one.
    fn text_slot(&mut self, name: &str) -> Option<&mut Option<String>> {
        Some(match name {
            names::PROVIDER => &mut self.provider,
            names::SERVICE => &mut self.service,
            names::RESOURCE => &mut self.resource,
            names::UNIT => &mut self.unit,
            names::CURRENCY => &mut self.currency,
            names::ERROR => &mut self.error,
            names::OUTCOME => &mut self.outcome,
            names::USER => &mut self.user,
            names::REQUEST_ID => &mut self.request_id,
            gen_ai::PROVIDER_NAME | gen_ai::SYSTEM => &mut self.gen_ai_provider,
            gen_ai::OPERATION_NAME => &mut self.gen_ai_operation,
            gen_ai::REQUEST_MODEL => &mut self.request_model,
            gen_ai::RESPONSE_MODEL => &mut self.response_model,
            _ => match name.strip_prefix(names::USAGE_PREFIX)? {
                "item" => &mut self.usage_item,
                "region" => &mut self.usage_region,
                "variant" => &mut self.usage_variant,
                _ => return None,
            },
        })
    }

    /// Stores a value given as text (or formatted to text).
    fn text(&mut self, field: &Field, value: String) {
        let name = field.name();
        if let Some(slot) = self.text_slot(name) {
            *slot = Some(value);
        } else if name == names::OTEL_STATUS_CODE {
            if value.eq_ignore_ascii_case("error") {
                self.outcome = Some("error".to_owned());
            }
        } else if name == names::AMOUNT {
            self.set_amount(parse_decimal(&value));
        } else if let Some(number) = parse_decimal(&value) {
            // Counts and quantities given as text ("1200") still count.
            self.number(field, number);
        }
    }

    /// Stores a numeric value, exactly.
    fn number(&mut self, field: &Field, value: Decimal) {
        use rust_decimal::prelude::ToPrimitive;
        let count = || value.to_u64();
        match field.name() {
            names::AMOUNT => self.set_amount(Some(value)),
            names::QUANTITY => self.quantity = value.to_f64(),
            gen_ai::INPUT_TOKENS => self.input_tokens = count(),
            gen_ai::OUTPUT_TOKENS => self.output_tokens = count(),
            gen_ai::CACHE_READ_INPUT_TOKENS => self.cache_read_tokens = count(),
            name => {
                if let Some(slot) = self.text_slot(name) {
                    // A number where text is expected (`resource = 7`).
                    *slot = Some(value.to_string());
                } else if let Some(component) = name.strip_prefix(names::USAGE_PREFIX) {
                    match self.components.iter_mut().find(|(c, _)| *c == component) {
                        Some((_, slot)) => *slot = value,
                        None => self.components.push((component, value)),
                    }
                }
            }
        }
    }

    fn set_amount(&mut self, amount: Option<Decimal>) {
        self.amount_invalid = amount.is_none();
        self.amount = amount;
    }
}

impl Visit for SpanCost {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.text(field, value.to_owned());
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.number(field, Decimal::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.number(field, Decimal::from(value));
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        match Decimal::try_from_i128_with_scale(value, 0) {
            Ok(value) => self.number(field, value),
            Err(_) => self.text(field, value.to_string()),
        }
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        match i128::try_from(value) {
            Ok(value) => self.record_i128(field, value),
            Err(_) => self.text(field, value.to_string()),
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        // A float field is taken as the decimal it prints as (0.42 is
        // exactly 0.42): money never goes through f64 arithmetic.
        match value.into_amount() {
            Some(value) => self.number(field, value),
            None if field.name() == names::AMOUNT => self.set_amount(None),
            None => {}
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        // `error = true` marks a failure without a message.
        if field.name() == names::ERROR && value {
            self.error = Some("error".to_owned());
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.text(field, value.to_string());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        // `%value` arrives here too, formatted by its Display.
        self.text(field, format!("{value:?}"));
    }
}

/// A number given as text, exactly (`"0.42"`, `"1.2e-3"`).
fn parse_decimal(text: &str) -> Option<Decimal> {
    let text = text.trim();
    text.parse::<Decimal>()
        .or_else(|_| Decimal::from_scientific(text))
        .ok()
}
