//! OpenAI usages priced through the shipped book: the components and item
//! names `panoptic_prices::openai` produces are ones the book knows.
#![cfg(feature = "openai")]

use std::time::Duration;

use async_openai::types::audio::CreateSpeechRequest;
use async_openai::types::chat::CreateChatCompletionResponse;
use chrono::NaiveDate;
use panoptic_prices::openai::{batch, speech_usage, transcription_usage};
use panoptic_prices::{Metered, PriceBook, Usage};
use rust_decimal::Decimal;
use serde_json::json;

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 6, 1).expect("date")
}

fn price(usage: &Usage) -> Decimal {
    PriceBook::shipped()
        .price("openai", "Chat", usage, day())
        .expect("priced")
        .amount
}

fn snapshot_reply() -> CreateChatCompletionResponse {
    serde_json::from_value(json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1741569952,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [],
        "usage": {
            "prompt_tokens": 1000,
            "completion_tokens": 500,
            "total_tokens": 1500,
            "prompt_tokens_details": { "cached_tokens": 200 },
            "completion_tokens_details": { "reasoning_tokens": 100 }
        }
    }))
    .expect("the API's JSON deserializes")
}

#[test]
fn chat_snapshot_prices_cached_input_at_its_own_rate() {
    let usage = snapshot_reply().usage().expect("usage");
    // 800 × 0.15 + 200 × 0.075 + 500 × 0.60, per million tokens.
    assert_eq!(price(&usage), Decimal::new(435, 6));
}

#[test]
fn batch_halves_input_and_output() {
    let usage = batch(snapshot_reply().usage().expect("usage"));
    // 800 × 0.075 + 200 × 0.075 + 500 × 0.30, per million tokens.
    assert_eq!(price(&usage), Decimal::new(225, 6));
}

#[test]
fn speech_and_transcription_price() {
    let request: CreateSpeechRequest = serde_json::from_value(json!({
        "model": "tts-1",
        "input": "Héllo, world",
        "voice": "alloy"
    }))
    .expect("request");
    // 12 characters × 15.00 per million.
    assert_eq!(price(&speech_usage(&request)), Decimal::new(18, 5));
    // 90 s = 1.5 minutes × 0.006.
    let whisper = transcription_usage("whisper-1", Duration::from_secs(90));
    assert_eq!(price(&whisper), Decimal::new(9, 3));
}
