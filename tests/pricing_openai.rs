//! OpenAI calls priced from their responses with no extra key: async-openai
//! responses returned by real `#[billable]` functions, stored in the test
//! database and read back. Expected amounts are worked out by hand from
//! the list prices (USD per 1M tokens) in the comments, never by the code
//! under test.

mod common;

use std::str::FromStr;

use async_openai::types::chat::{
    CreateChatCompletionRequest, CreateChatCompletionResponse, CreateChatCompletionStreamResponse,
};
use async_openai::types::embeddings::CreateEmbeddingResponse;
use bson::Document;
use futures_util::StreamExt;
use panoptic::openai::{MeteredChatStream, ask_for_usage};
use panoptic::{BillingEvent, Decimal, Outcome, billable};
use serde_json::json;

fn parse<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
    serde_json::from_value(value).expect("the API's JSON deserializes")
}

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

/// A chat completion as OpenAI returns it.
fn chat_completion(
    model: &str,
    prompt: u32,
    cached: u32,
    completion: u32,
    reasoning: u32,
) -> CreateChatCompletionResponse {
    parse(json!({
        "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
        "object": "chat.completion",
        "created": 1741569952,
        "model": model,
        "choices": [{
            "index": 0,
            "message": { "role": "assistant", "content": "Hello!", "refusal": null, "annotations": [] },
            "logprobs": null,
            "finish_reason": "stop"
        }],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": { "cached_tokens": cached, "audio_tokens": 0 },
            "completion_tokens_details": {
                "reasoning_tokens": reasoning,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0
            }
        },
        "service_tier": "default",
        "system_fingerprint": "fp_06737a9306"
    }))
}

#[billable(provider = "openai", service = "ChatCompletions")]
fn ask_mini() -> Result<CreateChatCompletionResponse, String> {
    Ok(chat_completion(
        "gpt-4o-mini-2024-07-18",
        1_000,
        200,
        500,
        0,
    ))
}

#[billable(provider = "openai", service = "ChatCompletions")]
fn ask_o4_mini() -> CreateChatCompletionResponse {
    chat_completion("o4-mini", 1_000, 0, 2_000, 1_500)
}

#[billable(provider = "openai", service = "ChatCompletions")]
fn ask_old_snapshot() -> CreateChatCompletionResponse {
    chat_completion("gpt-4o-2024-05-13", 1_000, 0, 1_000, 0)
}

#[billable(provider = "openai", service = "Batch")]
fn ask_in_batch() -> CreateChatCompletionResponse {
    chat_completion("gpt-4o-mini-2024-07-18", 1_000, 200, 500, 0)
}

#[billable(provider = "openai", service = "ChatCompletions", amount = 0.5)]
fn ask_with_my_price() -> CreateChatCompletionResponse {
    chat_completion("gpt-4o-mini", 1_000, 0, 500, 0)
}

#[billable(provider = "openai", service = "ChatCompletions")]
fn ask_unknown_model() -> CreateChatCompletionResponse {
    chat_completion("gpt-9-turbo", 1_000, 0, 500, 0)
}

#[billable(provider = "openai", service = "ChatCompletions")]
fn ask_and_fail() -> Result<CreateChatCompletionResponse, String> {
    Err("rate limited".to_owned())
}

#[billable(provider = "openai", service = "Embeddings")]
fn embed() -> CreateEmbeddingResponse {
    parse(json!({
        "object": "list",
        "data": [{ "object": "embedding", "index": 0, "embedding": [0.0023064255, -0.009327292] }],
        "model": "text-embedding-3-small",
        "usage": { "prompt_tokens": 50_000, "total_tokens": 50_000 }
    }))
}

/// A stream request: 8 + 24 = 32 characters of prompt.
fn stream_request() -> CreateChatCompletionRequest {
    let mut request: CreateChatCompletionRequest = parse(json!({
        "model": "gpt-4o-mini",
        "stream": true,
        "messages": [
            { "role": "system", "content": "Sé bref." },
            { "role": "user", "content": "Name three small primes." }
        ]
    }));
    ask_for_usage(&mut request);
    request
}

fn chunk(
    choices: serde_json::Value,
    usage: serde_json::Value,
) -> CreateChatCompletionStreamResponse {
    parse(json!({
        "id": "chatcmpl-123",
        "object": "chat.completion.chunk",
        "created": 1694268190,
        "model": "gpt-4o-mini-2024-07-18",
        "system_fingerprint": "fp_44709d6fcb",
        "choices": choices,
        "usage": usage
    }))
}

fn text(content: &str) -> CreateChatCompletionStreamResponse {
    chunk(
        json!([{ "index": 0, "delta": { "content": content }, "logprobs": null, "finish_reason": null }]),
        json!(null),
    )
}

fn stream_chunks(with_usage: bool) -> Vec<Result<CreateChatCompletionStreamResponse, String>> {
    let mut chunks = vec![Ok(text("2, 3")), Ok(text(", 5"))];
    if with_usage {
        chunks.push(Ok(chunk(
            json!([]),
            json!({ "prompt_tokens": 21, "completion_tokens": 7, "total_tokens": 28 }),
        )));
    }
    chunks
}

fn component<'a>(event: &'a BillingEvent, name: &str) -> &'a Document {
    event
        .metadata
        .price()
        .expect("metadata.price")
        .get_document("components")
        .unwrap()
        .get_document(name)
        .unwrap_or_else(|_| panic!("no {name} component"))
}

fn decimal_at(document: &Document, key: &str) -> Decimal {
    panoptic::money::from_decimal128(*document.get_decimal128(key).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_responses_are_priced_from_their_usage() {
    let env = common::unique_env("openai-pricing");
    // The only test of this binary that installs a global instance.
    let guard = common::builder(&env).install().unwrap();
    ask_mini().unwrap();
    ask_o4_mini();
    ask_old_snapshot();
    ask_in_batch();
    ask_with_my_price();
    ask_unknown_model();
    ask_and_fail().unwrap_err();
    embed();
    {
        let request = stream_request();
        let mut whole =
            MeteredChatStream::new(futures_util::stream::iter(stream_chunks(true)), &request)
                .resource("stream_whole");
        while whole.next().await.is_some() {}
        let mut cut =
            MeteredChatStream::new(futures_util::stream::iter(stream_chunks(false)), &request)
                .resource("stream_cut_short");
        cut.next().await;
        cut.next().await;
        // Dropped before its end: the connection broke.
    }
    assert!(guard.flush());
    let events = common::events(&env, "openai_john_doe").await;
    assert_eq!(events.len(), 10, "{events:#?}");

    // gpt-4o-mini: 0.15 / 0.075 / 0.60. 800 uncached + 200 cached + 500 out:
    // 800 × 0.15 + 200 × 0.075 + 500 × 0.60 = 120 + 15 + 300 = 435 → $0.000435.
    let mini = common::by_resource(&events, "ask_mini");
    assert_eq!(mini.amount, Some(dec("0.000435")));
    assert_eq!(mini.metadata.priced_by(), Some("price_book"));
    assert_eq!((mini.quantity, mini.unit.as_str()), (1_500.0, "tokens"));
    let usage = mini.metadata.usage().unwrap();
    assert_eq!(usage.get_i64("input").unwrap(), 1_000);
    assert_eq!(usage.get_i64("cached_input").unwrap(), 200);
    assert_eq!(usage.get_i64("output").unwrap(), 500);
    let price = mini.metadata.price().unwrap();
    assert_eq!(price.get_str("entry").unwrap(), "openai/gpt-4o-mini");
    let input = component(mini, "input");
    assert_eq!(decimal_at(input, "unit_price"), dec("0.15"));
    assert_eq!(decimal_at(input, "per"), dec("1000000"));
    assert_eq!(decimal_at(input, "quantity"), dec("800"));
    assert!(input.get_str("source").unwrap().starts_with("https://"));
    assert!(input.get_str("checked").is_ok() && input.get_str("effective").is_ok());
    assert_eq!(
        decimal_at(component(mini, "cached_input"), "unit_price"),
        dec("0.075")
    );

    // o4-mini: 1.10 in / 4.40 out; the 1,500 reasoning tokens are inside
    // the 2,000 completion tokens: 1,000 × 1.10 + 2,000 × 4.40 = 1,100 +
    // 8,800 = 9,900 → $0.0099 (counting reasoning again would be $0.0165).
    let o4 = common::by_resource(&events, "ask_o4_mini");
    assert_eq!(o4.amount, Some(dec("0.0099")));
    assert_eq!(
        o4.metadata.usage().unwrap().get_i64("reasoning").unwrap(),
        1_500
    );

    // gpt-4o-2024-05-13 has its own price, $5 / $15, not gpt-4o's:
    // 1,000 × 5 + 1,000 × 15 = 20,000 → $0.02.
    assert_eq!(
        common::by_resource(&events, "ask_old_snapshot").amount,
        Some(dec("0.02"))
    );

    // Batch: input and output at half price, cached input as is:
    // 800 × 0.075 + 200 × 0.075 + 500 × 0.30 = 60 + 15 + 150 = 225 → $0.000225.
    let batch = common::by_resource(&events, "ask_in_batch");
    assert_eq!(batch.amount, Some(dec("0.000225")));
    assert_eq!(
        batch.metadata.price().unwrap().get_str("variant").unwrap(),
        "batch"
    );

    // An amount given by the user wins, and the event says so.
    let mine = common::by_resource(&events, "ask_with_my_price");
    assert_eq!(mine.amount, Some(dec("0.5")));
    assert_eq!(mine.metadata.priced_by(), Some("given"));
    assert!(mine.metadata.price().is_none());

    // An unknown model: no amount, and why.
    let unknown = common::by_resource(&events, "ask_unknown_model");
    assert_eq!(unknown.amount, None);
    assert!(
        unknown.metadata.unpriced().unwrap().contains("gpt-9-turbo"),
        "{:?}",
        unknown.metadata
    );

    // A failed call reports no usage: unpriced, not $0.
    let failed = common::by_resource(&events, "ask_and_fail");
    assert_eq!((failed.outcome, failed.amount), (Outcome::Error, None));

    // text-embedding-3-small: 0.02 per 1M; 50,000 × 0.02 / 1M = $0.001.
    assert_eq!(
        common::by_resource(&events, "embed").amount,
        Some(dec("0.001"))
    );

    // A whole stream, from its usage chunk: 21 × 0.15 + 7 × 0.60 = 3.15 +
    // 4.2 = 7.35 → $0.00000735.
    let whole = common::by_resource(&events, "stream_whole");
    assert_eq!(whole.amount, Some(dec("0.00000735")));
    assert_eq!(whole.outcome, Outcome::Ok);
    assert!(!whole.metadata.is_estimated());

    // Cut short: estimated as a budget's estimate counts a prompt: 32
    // chars → 8 tokens, plus 3 per message (2) and 3 for the reply = 17;
    // received "2, 3" + ", 5" = 7 chars → 2 tokens: 17 × 0.15 + 2 × 0.60 =
    // 2.55 + 1.2 = 3.75 → $0.00000375.
    let cut = common::by_resource(&events, "stream_cut_short");
    assert_eq!(cut.amount, Some(dec("0.00000375")));
    assert_eq!(cut.outcome, Outcome::Cancelled);
    assert!(cut.metadata.is_estimated());
}

/// The child of the warning test: the same unknown model, three times.
#[test]
fn unknown_model_child() {
    if std::env::var("PANOPTIC_UNKNOWN_MODEL_CHILD").is_err() {
        return;
    }
    let env = common::unique_env("openai-unknown");
    let guard = common::builder(&env).install().unwrap();
    for _ in 0..3 {
        ask_unknown_model();
    }
    assert!(guard.flush());
    drop(guard);
    println!("UNKNOWN-MODEL-CHILD-OK");
}

/// One warning per unknown name, however many calls.
#[test]
fn an_unknown_model_is_warned_about_once() {
    let output = common::child_test("unknown_model_child")
        .env("PANOPTIC_UNKNOWN_MODEL_CHILD", "1")
        .env("MONGODB_URI", common::mongodb_uri())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("UNKNOWN-MODEL-CHILD-OK"), "{stdout}");
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("panoptic: warning:") && l.contains("gpt-9-turbo"))
        .collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
}
