use panoptic_core::{Kind, Outcome};
use rust_decimal::Decimal;

use super::observed_call;
use crate::span_cost::SpanCost;

fn chat() -> SpanCost {
    let mut cost = SpanCost::new();
    cost.gen_ai_provider = Some("openai".to_owned());
    cost.gen_ai_operation = Some("chat".to_owned());
    cost.request_model = Some("gpt-4o-mini".to_owned());
    cost.response_model = Some("gpt-4o-mini-2024-07-18".to_owned());
    cost.input_tokens = Some(1_000);
    cost.output_tokens = Some(500);
    cost
}

#[test]
fn cached_tokens_are_a_part_of_the_input_priced_apart() {
    let mut cost = chat();
    cost.cache_read_tokens = Some(200);
    let call = observed_call(cost, "ask", None, None);
    assert_eq!(
        (call.provider.as_str(), call.service.as_str()),
        ("openai", "ChatCompletions")
    );
    assert_eq!(call.kind, Kind::TokenUsage);
    assert_eq!(call.unpriced, None);
    let usage = call.usage.unwrap();
    // The model that answered is the one priced.
    assert_eq!(usage.item, "gpt-4o-mini-2024-07-18");
    let quantity = |name: &str| {
        usage
            .quantities
            .iter()
            .find(|q| q.component == name)
            .map(|q| q.amount)
    };
    assert_eq!(quantity("input"), Some(Decimal::from(800)));
    assert_eq!(quantity("cached_input"), Some(Decimal::from(200)));
    assert_eq!(quantity("output"), Some(Decimal::from(500)));
    assert_eq!(
        usage.total,
        Some((Decimal::from(1_500), "tokens".to_owned()))
    );
}

#[test]
fn more_cached_than_input_never_underflows() {
    let mut cost = chat();
    cost.cache_read_tokens = Some(5_000);
    let usage = observed_call(cost, "ask", None, None).usage.unwrap();
    assert!(usage.quantities.iter().all(|q| q.amount >= Decimal::ZERO));
}

#[test]
fn bedrock_is_aws_and_an_unknown_genai_provider_is_unpriced() {
    let mut cost = chat();
    cost.gen_ai_provider = Some("aws.bedrock".to_owned());
    let call = observed_call(cost, "ask", None, None);
    assert_eq!(
        (call.provider.as_str(), call.service.as_str()),
        ("aws", "Bedrock")
    );

    let mut cost = chat();
    cost.gen_ai_provider = Some("anthropic".to_owned());
    let call = observed_call(cost, "ask", None, None);
    assert_eq!(call.provider, "anthropic");
    assert!(call.unpriced.unwrap().contains("anthropic"));
}

#[test]
fn outcome_field_wins_then_error_field_then_error_event() {
    let mut cost = chat();
    cost.error = Some("timeout".to_owned());
    let call = observed_call(cost, "ask", None, Some("event".to_owned()));
    assert_eq!(
        (call.outcome, call.error.as_deref()),
        (Outcome::Error, Some("timeout"))
    );

    let call = observed_call(chat(), "ask", None, Some("event".to_owned()));
    assert_eq!(
        (call.outcome, call.error.as_deref()),
        (Outcome::Error, Some("event"))
    );

    let mut cost = chat();
    cost.outcome = Some("cancelled".to_owned());
    let call = observed_call(cost, "ask", None, None);
    assert_eq!(call.outcome, Outcome::Cancelled);

    let call = observed_call(chat(), "ask", None, None);
    assert_eq!((call.outcome, call.error), (Outcome::Ok, None));
}

#[test]
fn a_given_amount_needs_no_model_and_a_bad_one_says_so() {
    let mut cost = chat();
    cost.request_model = None;
    cost.response_model = None;
    cost.amount = Some(Decimal::new(42, 2));
    let call = observed_call(cost, "ask", None, None);
    assert_eq!(call.amount, Some(Decimal::new(42, 2)));
    assert_eq!(call.unpriced, None);

    let mut cost = SpanCost::new();
    cost.provider = Some("user_defined".to_owned());
    cost.service = Some("Support".to_owned());
    cost.amount_invalid = true;
    let call = observed_call(cost, "ticket", None, None);
    assert!(call.unpriced.unwrap().contains("not a number"));
}

#[test]
fn usage_fields_name_any_priced_component() {
    let mut cost = SpanCost::new();
    cost.provider = Some("aws".to_owned());
    cost.service = Some("S3".to_owned());
    cost.usage_item = Some("s3-standard".to_owned());
    cost.usage_region = Some("us-east-1".to_owned());
    cost.components.push(("gb_months", Decimal::from(3)));
    let call = observed_call(cost, "store", Some("app::store"), None);
    assert_eq!(call.kind, Kind::Invoice);
    assert_eq!(call.resource, "store");
    assert_eq!(call.module_path.as_deref(), Some("app::store"));
    let usage = call.usage.unwrap();
    assert_eq!(usage.item, "s3-standard");
    assert_eq!(usage.region.as_deref(), Some("us-east-1"));
    assert_eq!(usage.quantities[0].component, "gb_months");
}
