//! `Metered` for async-openai's types, fed the JSON OpenAI's API returns.
#![cfg(feature = "openai")]

use std::time::Duration;

use async_openai::types::audio::CreateSpeechRequest;
use async_openai::types::chat::{
    CreateChatCompletionRequest, CreateChatCompletionResponse, CreateChatCompletionStreamResponse,
};
use async_openai::types::embeddings::CreateEmbeddingResponse;
use async_openai::types::responses::Response;
use panoptic_prices::openai::{
    ChatStreamMeter, ask_for_usage, batch, chat_request_usage, estimate_prompt_tokens,
    speech_usage, transcription_usage,
};
use panoptic_prices::{Metered, Usage};
use rust_decimal::Decimal;
use serde_json::json;

fn parse<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
    serde_json::from_value(value).expect("the API's JSON deserializes")
}

/// The amount of one priced component, `None` when absent.
fn quantity(usage: &Usage, component: &str) -> Option<Decimal> {
    let mut found = usage.quantities.iter().filter(|q| q.component == component);
    let first = found.next().map(|q| q.amount);
    assert!(found.next().is_none(), "{component} counted twice");
    first
}

fn detail(usage: &Usage, name: &str) -> Option<Decimal> {
    usage
        .details
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| *v)
}

fn d(n: i64) -> Decimal {
    Decimal::from(n)
}

fn components(usage: &Usage) -> Vec<&str> {
    usage
        .quantities
        .iter()
        .map(|q| q.component.as_str())
        .collect()
}

fn chat_completion(usage: serde_json::Value) -> CreateChatCompletionResponse {
    parse(json!({
        "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
        "object": "chat.completion",
        "created": 1741569952,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Hello! How can I assist you today?",
                "refusal": null,
                "annotations": []
            },
            "logprobs": null,
            "finish_reason": "stop"
        }],
        "usage": usage,
        "service_tier": "default",
        "system_fingerprint": "fp_06737a9306"
    }))
}

#[test]
fn chat_completion_splits_cached_input_and_keeps_reasoning_inside_output() {
    let reply = chat_completion(json!({
        "prompt_tokens": 1000,
        "completion_tokens": 500,
        "total_tokens": 1500,
        "prompt_tokens_details": { "cached_tokens": 200, "audio_tokens": 0 },
        "completion_tokens_details": {
            "reasoning_tokens": 100,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0
        }
    }));
    let usage = reply.usage().expect("usage");

    assert_eq!(usage.item, "gpt-4o-mini-2024-07-18");
    assert_eq!(components(&usage), ["input", "cached_input", "output"]);
    assert_eq!(quantity(&usage, "input"), Some(d(800)));
    assert_eq!(quantity(&usage, "cached_input"), Some(d(200)));
    assert_eq!(quantity(&usage, "output"), Some(d(500)));
    assert_eq!(detail(&usage, "input"), Some(d(1000)));
    assert_eq!(detail(&usage, "cached_input"), Some(d(200)));
    assert_eq!(detail(&usage, "output"), Some(d(500)));
    assert_eq!(detail(&usage, "reasoning"), Some(d(100)));
    assert_eq!(usage.total, Some((d(1500), "tokens".to_owned())));
    assert!(!usage.estimated);
    assert_eq!(usage.variant, None);
}

#[test]
fn chat_completion_without_cache_has_no_cached_component() {
    let reply = chat_completion(json!({
        "prompt_tokens": 19,
        "completion_tokens": 10,
        "total_tokens": 29
    }));
    let usage = reply.usage().expect("usage");
    assert_eq!(components(&usage), ["input", "output"]);
    assert_eq!(quantity(&usage, "input"), Some(d(19)));
    assert_eq!(detail(&usage, "cached_input"), Some(d(0)));
    assert_eq!(detail(&usage, "reasoning"), Some(d(0)));
}

#[test]
fn chat_completion_with_more_cached_than_prompt_does_not_panic() {
    let reply = chat_completion(json!({
        "prompt_tokens": 10,
        "completion_tokens": 3,
        "total_tokens": 13,
        "prompt_tokens_details": { "cached_tokens": 50 }
    }));
    let usage = reply.usage().expect("usage");
    assert_eq!(quantity(&usage, "input"), Some(d(0)));
    assert_eq!(quantity(&usage, "cached_input"), Some(d(10)));
}

#[test]
fn chat_completion_without_usage_is_none() {
    let mut reply = chat_completion(json!(null));
    assert!(reply.usage.is_none());
    assert_eq!(reply.usage(), None);
    reply.usage = Some(Default::default());
    assert!(reply.usage().is_some());
}

#[test]
fn embedding_prices_input_only() {
    let reply: CreateEmbeddingResponse = parse(json!({
        "object": "list",
        "data": [{
            "object": "embedding",
            "index": 0,
            "embedding": [0.0023064255, -0.009327292, -0.0028842222]
        }],
        "model": "text-embedding-3-small",
        "usage": { "prompt_tokens": 8, "total_tokens": 8 }
    }));
    let usage = reply.usage().expect("usage");
    assert_eq!(usage.item, "text-embedding-3-small");
    assert_eq!(components(&usage), ["input"]);
    assert_eq!(quantity(&usage, "input"), Some(d(8)));
    assert_eq!(usage.total, Some((d(8), "tokens".to_owned())));
}

fn response(usage: Option<serde_json::Value>) -> Response {
    let mut value = json!({
        "id": "resp_67ccd3a9da748190baa7f1570fe91ac604becb25c45c1d41",
        "object": "response",
        "created_at": 1741476777,
        "status": "completed",
        "error": null,
        "incomplete_details": null,
        "instructions": null,
        "max_output_tokens": null,
        "model": "o4-mini-2025-04-16",
        "output": [{
            "type": "message",
            "id": "msg_67ccd3acc8d48190a77525dc6de64b4104becb25c45c1d41",
            "status": "completed",
            "role": "assistant",
            "content": [{
                "type": "output_text",
                "text": "The image depicts a scenic landscape.",
                "annotations": []
            }]
        }],
        "parallel_tool_calls": true,
        "previous_response_id": null,
        "reasoning": { "effort": "medium", "summary": null },
        "store": true,
        "temperature": 1.0,
        "text": { "format": { "type": "text" } },
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "user": null,
        "metadata": {}
    });
    if let Some(usage) = usage {
        value["usage"] = usage;
    }
    parse(value)
}

#[test]
fn responses_api_reads_input_and_output_details() {
    let reply = response(Some(json!({
        "input_tokens": 1200,
        "input_tokens_details": { "cached_tokens": 1000 },
        "output_tokens": 300,
        "output_tokens_details": { "reasoning_tokens": 256 },
        "total_tokens": 1500
    })));
    let usage = reply.usage().expect("usage");
    assert_eq!(usage.item, "o4-mini-2025-04-16");
    assert_eq!(components(&usage), ["input", "cached_input", "output"]);
    assert_eq!(quantity(&usage, "input"), Some(d(200)));
    assert_eq!(quantity(&usage, "cached_input"), Some(d(1000)));
    assert_eq!(quantity(&usage, "output"), Some(d(300)));
    assert_eq!(detail(&usage, "input"), Some(d(1200)));
    assert_eq!(detail(&usage, "reasoning"), Some(d(256)));
    assert_eq!(usage.total, Some((d(1500), "tokens".to_owned())));
}

#[test]
fn responses_api_without_usage_is_none() {
    assert_eq!(response(None).usage(), None);
}

/// A system message of 8 characters (9 bytes: `é` is two) and a user
/// message of 24: 32 characters, so ⌈32 / 4⌉ = 8 tokens of text (counting
/// bytes would give ⌈33 / 4⌉ = 9), and 3 × 2 + 3 = 9 of framing: 17
/// estimated input tokens.
fn stream_request() -> CreateChatCompletionRequest {
    parse(json!({
        "model": "gpt-4o-mini",
        "stream": true,
        "messages": [
            { "role": "system", "content": "Sé bref." },
            { "role": "user", "content": "Name three small primes." }
        ]
    }))
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

fn delta(content: &str) -> serde_json::Value {
    json!([{
        "index": 0,
        "delta": { "content": content },
        "logprobs": null,
        "finish_reason": null
    }])
}

/// The chunks before the final usage chunk: 4 + 3 = 7 characters of text.
fn text_chunks() -> Vec<CreateChatCompletionStreamResponse> {
    vec![
        chunk(
            json!([{
                "index": 0,
                "delta": { "role": "assistant", "content": "", "refusal": null },
                "logprobs": null,
                "finish_reason": null
            }]),
            json!(null),
        ),
        chunk(delta("2, 3"), json!(null)),
        chunk(delta(", 5"), json!(null)),
    ]
}

fn finish_chunk() -> CreateChatCompletionStreamResponse {
    chunk(
        json!([{ "index": 0, "delta": {}, "logprobs": null, "finish_reason": "stop" }]),
        json!(null),
    )
}

fn usage_chunk() -> CreateChatCompletionStreamResponse {
    chunk(
        json!([]),
        json!({
            "prompt_tokens": 21,
            "completion_tokens": 7,
            "total_tokens": 28,
            "prompt_tokens_details": { "cached_tokens": 0, "audio_tokens": 0 },
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0
            }
        }),
    )
}

#[test]
fn stream_with_usage_chunk_is_exact() {
    let mut meter = ChatStreamMeter::new(&stream_request());
    for c in text_chunks() {
        meter.observe(&c);
    }
    meter.observe(&finish_chunk());
    assert!(!meter.has_final_usage());
    meter.observe(&usage_chunk());
    assert!(meter.has_final_usage());

    let usage = meter.finish();
    assert!(!usage.estimated);
    assert_eq!(usage.item, "gpt-4o-mini-2024-07-18");
    assert_eq!(quantity(&usage, "input"), Some(d(21)));
    assert_eq!(quantity(&usage, "cached_input"), None);
    assert_eq!(quantity(&usage, "output"), Some(d(7)));
    assert_eq!(usage.total, Some((d(28), "tokens".to_owned())));
}

#[test]
fn stream_cut_short_is_estimated_by_four_characters_a_token() {
    let mut meter = ChatStreamMeter::new(&stream_request());
    for c in text_chunks() {
        meter.observe(&c);
    }
    let usage = meter.finish();

    assert!(usage.estimated);
    // The model as the chunks named it, not the alias asked for.
    assert_eq!(usage.item, "gpt-4o-mini-2024-07-18");
    assert_eq!(components(&usage), ["input", "output"]);
    // ⌈32 / 4⌉ + 9 = 17 and ⌈7 / 4⌉ = 2 (7 / 4 rounded down would be 1).
    assert_eq!(quantity(&usage, "input"), Some(d(17)));
    assert_eq!(quantity(&usage, "output"), Some(d(2)));
    assert_eq!(usage.total, Some((d(19), "tokens".to_owned())));
}

#[test]
fn finish_cut_short_estimates_even_after_a_usage_chunk() {
    let mut meter = ChatStreamMeter::new(&stream_request());
    for c in text_chunks() {
        meter.observe(&c);
    }
    meter.observe(&usage_chunk());
    assert_eq!(meter.usage().map(|u| u.estimated), Some(false));

    let usage = meter.finish_cut_short();
    assert!(usage.estimated);
    assert_eq!(quantity(&usage, "input"), Some(d(17)));
    assert_eq!(quantity(&usage, "output"), Some(d(2)));
}

#[test]
fn stream_with_no_chunk_estimates_the_prompt_under_the_requested_model() {
    let usage = ChatStreamMeter::new(&stream_request()).finish();
    assert!(usage.estimated);
    assert_eq!(usage.item, "gpt-4o-mini");
    assert_eq!(quantity(&usage, "input"), Some(d(17)));
    assert_eq!(quantity(&usage, "output"), Some(d(0)));
}

/// One estimator: a stream cut short counts its prompt as a budget's
/// estimate of the same request does (framing tokens included).
#[test]
fn stream_and_request_estimates_count_the_prompt_alike() {
    let mut request = stream_request();
    request.max_completion_tokens = Some(100);
    let before = chat_request_usage(&request).unwrap();
    let after = ChatStreamMeter::new(&request).finish();
    assert_eq!(quantity(&before, "input"), quantity(&after, "input"));
    assert_eq!(
        quantity(&after, "input"),
        Some(d(estimate_prompt_tokens(&request) as i64))
    );
}

#[test]
fn stream_counts_tool_call_arguments_across_choices() {
    let mut meter = ChatStreamMeter::new(&stream_request());
    meter.observe(&chunk(
        json!([
            {
                "index": 0,
                "delta": {
                    "tool_calls": [{
                        "index": 0,
                        "id": "call_1",
                        "type": "function",
                        "function": { "name": "get_weather", "arguments": "{\"city\":" }
                    }]
                },
                "finish_reason": null
            },
            { "index": 1, "delta": { "content": "Hi" }, "finish_reason": null }
        ]),
        json!(null),
    ));
    // "get_weather" 11 + "{\"city\":" 8 + "Hi" 2 = 21 characters: ⌈21 / 4⌉ = 6.
    assert_eq!(quantity(&meter.finish(), "output"), Some(d(6)));
}

#[test]
fn ask_for_usage_sets_include_usage_and_keeps_other_options() {
    let mut request = stream_request();
    assert!(request.stream_options.is_none());
    ask_for_usage(&mut request);
    assert_eq!(
        request.stream_options.and_then(|o| o.include_usage),
        Some(true)
    );

    let mut request: CreateChatCompletionRequest = parse(json!({
        "model": "gpt-4o-mini",
        "stream": true,
        "stream_options": { "include_usage": false, "include_obfuscation": false },
        "messages": [{ "role": "user", "content": "Hi" }]
    }));
    ask_for_usage(&mut request);
    let options = request.stream_options.expect("options");
    assert_eq!(options.include_usage, Some(true));
    assert_eq!(options.include_obfuscation, Some(false));
}

#[test]
fn speech_counts_characters_not_bytes() {
    let request: CreateSpeechRequest = parse(json!({
        "model": "tts-1",
        "input": "Héllo, world",
        "voice": "alloy"
    }));
    let usage = speech_usage(&request);
    assert_eq!(usage.item, "tts-1");
    assert_eq!(components(&usage), ["characters"]);
    assert_eq!(quantity(&usage, "characters"), Some(d(12)));
    assert_eq!(usage.total, Some((d(12), "characters".to_owned())));

    let request: CreateSpeechRequest = parse(json!({
        "model": "tts-1-hd-1106",
        "input": "Hi",
        "voice": "nova"
    }));
    assert_eq!(speech_usage(&request).item, "tts-1-hd-1106");
}

#[test]
fn transcription_rounds_to_the_nearest_second() {
    let usage = transcription_usage("whisper-1", Duration::from_millis(90_400));
    assert_eq!(usage.item, "whisper-1");
    assert_eq!(components(&usage), ["minutes"]);
    assert_eq!(quantity(&usage, "minutes"), Some(Decimal::new(15, 1)));
    assert_eq!(usage.total, Some((d(90), "seconds".to_owned())));

    let usage = transcription_usage("whisper-1", Duration::from_millis(89_500));
    assert_eq!(quantity(&usage, "minutes"), Some(Decimal::new(15, 1)));
    assert_eq!(detail(&usage, "seconds"), Some(d(90)));
}

#[test]
fn batch_sets_the_variant_and_nothing_else() {
    let plain = chat_completion(json!({
        "prompt_tokens": 10,
        "completion_tokens": 5,
        "total_tokens": 15
    }))
    .usage()
    .expect("usage");
    let batched = batch(plain.clone());
    assert_eq!(batched.variant.as_deref(), Some("batch"));
    assert_eq!(batched.quantities, plain.quantities);
    assert_eq!(batched.total, plain.total);
}

/// A chat reply with `model` and `usage`, as the API returns it.
fn chat_reply(model: &str, usage: serde_json::Value) -> CreateChatCompletionResponse {
    let mut reply = serde_json::to_value(chat_completion(usage)).unwrap();
    reply["model"] = model.into();
    parse(reply)
}

#[test]
fn audio_tokens_are_priced_at_their_own_rate_never_as_text() {
    // 1,000 prompt tokens of which 600 audio and 100 cached; 400 completion
    // tokens of which 300 audio.
    let usage_json = json!({
        "prompt_tokens": 1000,
        "completion_tokens": 400,
        "total_tokens": 1400,
        "prompt_tokens_details": { "cached_tokens": 100, "audio_tokens": 600 },
        "completion_tokens_details": { "reasoning_tokens": 0, "audio_tokens": 300 }
    });
    let reply = chat_reply("gpt-4o-audio-preview", usage_json.clone());
    let usage = reply.usage().unwrap();
    assert_eq!(
        components(&usage),
        [
            "input",
            "cached_input",
            "audio_input",
            "output",
            "audio_output"
        ]
    );
    assert_eq!(quantity(&usage, "input"), Some(d(300)));
    assert_eq!(quantity(&usage, "audio_input"), Some(d(600)));
    assert_eq!(quantity(&usage, "output"), Some(d(100)));
    assert_eq!(quantity(&usage, "audio_output"), Some(d(300)));
    assert_eq!(detail(&usage, "audio_input"), Some(d(600)));

    // gpt-4o-mini-audio-preview, OpenAI's list: text 0.15 in / 0.60 out,
    // audio 10.00 in / 20.00 out per million. It has no cached price, so
    // this reply has none cached: 400 text + 600 audio in, 100 text + 300
    // audio out = (400 × 0.15 + 600 × 10 + 100 × 0.60 + 300 × 20) / 1M
    // = (60 + 6,000 + 60 + 6,000) / 1M = 0.01212.
    let mut no_cache = usage_json.clone();
    no_cache["prompt_tokens_details"]["cached_tokens"] = 0.into();
    let mini = chat_reply("gpt-4o-mini-audio-preview", no_cache.clone())
        .usage()
        .unwrap();
    let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    let book = panoptic_prices::PriceBook::shipped();
    let priced = book.price("openai", "ChatCompletions", &mini, day).unwrap();
    assert_eq!(priced.amount, Decimal::new(1212, 5));
    // Audio on a model with no audio price is unpriced, with the reason,
    // not priced as text.
    let text_only = chat_reply("gpt-4o-mini", no_cache).usage().unwrap();
    let why = book
        .price("openai", "ChatCompletions", &text_only, day)
        .unwrap_err()
        .to_string();
    assert!(why.contains("audio_input"), "{why}");
}

#[test]
fn the_gpt_5_family_is_priced() {
    // gpt-5-mini, OpenAI's list: 0.25 in, 0.025 cached, 2.00 out per
    // million: 800 × 0.25 + 200 × 0.025 + 500 × 2.00 = 200 + 5 + 1,000,
    // over a million: 0.001205.
    let reply = chat_reply(
        "gpt-5-mini-2025-08-07",
        json!({
            "prompt_tokens": 1000,
            "completion_tokens": 500,
            "total_tokens": 1500,
            "prompt_tokens_details": { "cached_tokens": 200, "audio_tokens": 0 },
            "completion_tokens_details": { "reasoning_tokens": 320, "audio_tokens": 0 }
        }),
    );
    let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    let book = panoptic_prices::PriceBook::shipped();
    let priced = book
        .price("openai", "ChatCompletions", &reply.usage().unwrap(), day)
        .unwrap();
    assert_eq!(priced.amount, Decimal::new(1205, 6));
    assert_eq!(priced.entry, "openai/gpt-5-mini");
    // gpt-5: 1,000,000 in and out = 1.25 + 10.00; gpt-5-nano 0.05 + 0.40.
    for (model, expected) in [("gpt-5", "11.25"), ("gpt-5-nano", "0.45")] {
        let usage = Usage::new(model)
            .with("input", d(1_000_000))
            .with("output", d(1_000_000));
        let priced = book
            .price("openai", "ChatCompletions", &usage, day)
            .unwrap();
        assert_eq!(
            priced.amount,
            expected.parse::<Decimal>().unwrap(),
            "{model}"
        );
    }
}
