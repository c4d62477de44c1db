//! A closed span's recorded values, as the call panoptic bills: provider
//! and service checked against the catalog, GenAI token counts as the
//! price book's usage.

use panoptic_core::catalog::Provider;
use panoptic_core::{Kind, ObservedCall, Outcome, Usage};
use rust_decimal::Decimal;

use crate::span_cost::SpanCost;

/// What a span of `name` in `module` that recorded `cost` bills.
pub(crate) fn observed_call(
    cost: SpanCost,
    name: &str,
    module: Option<&str>,
    error_event: Option<String>,
) -> ObservedCall {
    let (provider, implied_service) = provider_of(&cost);
    let service = cost
        .service
        .clone()
        .or(implied_service)
        .or_else(|| operation_service(&provider, cost.gen_ai_operation.as_deref()));
    let mut call = ObservedCall::new(
        provider.clone(),
        service.clone().unwrap_or_default(),
        cost.resource.clone().unwrap_or_else(|| name.to_owned()),
    );
    call.function_name = Some(name.to_owned());
    call.module_path = module.map(str::to_owned);
    call.duration = Some(cost.started.elapsed());
    (call.outcome, call.error) = outcome(&cost, error_event);
    call.amount = cost.amount;
    call.currency = cost.currency.clone();
    call.quantity = cost.quantity;
    call.unit = cost.unit.clone();
    call.user = cost.user.clone();
    call.request_id = cost.request_id.clone();
    call.unpriced = catalog_problem(&provider, service.as_deref(), &cost);
    match token_usage(&cost) {
        Some(tokens) => {
            call.kind = Kind::TokenUsage;
            match tokens {
                Ok(usage) => call.usage = Some(usage),
                Err(reason) if call.amount.is_none() => {
                    call.unpriced.get_or_insert(reason);
                }
                Err(_) => {}
            }
        }
        None => call.usage = component_usage(&cost),
    }
    if cost.amount_invalid && call.unpriced.is_none() && call.usage.is_none() {
        call.unpriced = Some("the `amount` recorded is not a number".to_owned());
    }
    call
}

/// The provider as named, and a service its GenAI name implies
/// (`aws.bedrock` is AWS's Bedrock).
fn provider_of(cost: &SpanCost) -> (String, Option<String>) {
    if let Some(provider) = &cost.provider {
        return (provider.clone(), None);
    }
    match cost.gen_ai_provider.as_deref() {
        Some("aws.bedrock") => ("aws".to_owned(), Some("Bedrock".to_owned())),
        Some("azure.ai.openai") => ("openai".to_owned(), None),
        Some(other) => (other.to_owned(), None),
        None => (String::new(), None),
    }
}

/// The service a GenAI operation of `provider` is billed under.
fn operation_service(provider: &str, operation: Option<&str>) -> Option<String> {
    let service = match (provider, operation?) {
        ("openai", "chat" | "text_completion") => "ChatCompletions",
        ("openai", "generate_content") => "Responses",
        ("openai", "embeddings") => "Embeddings",
        _ => return None,
    };
    Some(service.to_owned())
}

/// Why the catalog cannot price a call of `provider`'s `service`, if so.
fn catalog_problem(provider: &str, service: Option<&str>, cost: &SpanCost) -> Option<String> {
    if provider.is_empty() {
        return Some(format!(
            "the span names no provider (a `provider` field, or `{}`)",
            crate::names::gen_ai::PROVIDER_NAME
        ));
    }
    let Some(known) = Provider::parse(provider) else {
        let names: Vec<&str> = Provider::ALL.iter().map(|p| p.as_str()).collect();
        return Some(format!(
            "provider `{provider}` is not in panoptic's catalog (known: {})",
            names.join(", ")
        ));
    };
    let Some(service) = service.filter(|s| !s.is_empty()) else {
        let operation = cost.gen_ai_operation.as_deref().unwrap_or("(none)");
        return Some(format!(
            "the span names no service of `{provider}` (a `service` field; \
             gen_ai.operation.name `{operation}` implies none)"
        ));
    };
    if known.accepts_any_service() || known.service(service).is_some() {
        return None;
    }
    let names: Vec<&str> = known.services().iter().map(|s| s.name).collect();
    Some(format!(
        "service `{service}` of `{provider}` is not in panoptic's catalog (known: {})",
        names.join(", ")
    ))
}

/// How the span ended: an `outcome` field, else an `error` field or
/// `otel.status_code = "ERROR"`, else an error event inside it, else ok.
fn outcome(cost: &SpanCost, error_event: Option<String>) -> (Outcome, Option<String>) {
    let given = cost.outcome.as_deref().and_then(Outcome::parse);
    let error = cost.error.clone().or(error_event);
    match (given, error) {
        (Some(Outcome::Ok), _) => (Outcome::Ok, None),
        (Some(outcome), error) => (outcome, error),
        (None, Some(error)) => (Outcome::Error, Some(error)),
        (None, None) => (Outcome::Ok, None),
    }
}

/// The usage of a GenAI call, when the span recorded token counts: its
/// model, else why it cannot be priced.
fn token_usage(cost: &SpanCost) -> Option<Result<Usage, String>> {
    if cost.input_tokens.is_none() && cost.output_tokens.is_none() {
        return None;
    }
    let Some(model) = cost.response_model.as_ref().or(cost.request_model.as_ref()) else {
        return Some(Err(
            "tokens recorded, but no gen_ai.response.model or gen_ai.request.model".to_owned(),
        ));
    };
    let input = cost.input_tokens.unwrap_or(0);
    let output = cost.output_tokens.unwrap_or(0);
    // Cached tokens are a part of the input tokens (GenAI conventions):
    // the book prices them apart, so the two components never overlap.
    let cached = cost.cache_read_tokens.unwrap_or(0).min(input);
    let mut usage = Usage::new(model.as_str()).with("input", Decimal::from(input - cached));
    if cached > 0 {
        usage = usage.with("cached_input", Decimal::from(cached));
    }
    Some(Ok(usage
        .with("output", Decimal::from(output))
        .detail("input", Decimal::from(input))
        .detail("cached_input", Decimal::from(cached))
        .detail("output", Decimal::from(output))
        .total(Decimal::from(input + output), "tokens")))
}

/// The usage given as `usage.item` and `usage.<component>` fields.
fn component_usage(cost: &SpanCost) -> Option<Usage> {
    let item = cost.usage_item.as_ref()?;
    if cost.components.is_empty() {
        return None;
    }
    let mut usage = Usage::new(item.as_str());
    for (component, amount) in &cost.components {
        usage = usage.with(component, *amount);
    }
    usage.region = cost.usage_region.clone();
    usage.variant = cost.usage_variant.clone();
    Some(usage)
}

#[cfg(test)]
mod tests;
