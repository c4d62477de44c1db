//! An OpenAI chat completion priced from its usage, with no `amount` key.
//!
//! ```text
//! cargo run --example openai_chat --features openai
//! ```
//!
//! With `OPENAI_API_KEY` set it asks OpenAI (a few hundred tokens of
//! gpt-4o-mini, a fraction of a cent). Without one it starts a local fake
//! of the OpenAI API that answers with the same JSON, so the example runs
//! anywhere: the code below differs only by the base URL. Events go to
//! MongoDB at `MONGODB_URI` (default localhost); with none running they
//! wait in panoptic's local spool.

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::chat::{CreateChatCompletionRequest, CreateChatCompletionResponse};
use futures_util::StreamExt;
use panoptic::openai::{MeteredChatStream, ask_for_usage};
use panoptic::{Panoptic, billable};

/// Priced from the response: model and token usage, cached input and
/// reasoning tokens included, from the dated price book.
#[billable(provider = "openai", service = "ChatCompletions")]
async fn summarize(
    client: &Client<OpenAIConfig>,
    text: &str,
) -> Result<CreateChatCompletionResponse, OpenAIError> {
    let request: CreateChatCompletionRequest = serde_json::from_value(serde_json::json!({
        "model": "gpt-4o-mini",
        "messages": [
            { "role": "system", "content": "Summarize in one sentence." },
            { "role": "user", "content": text }
        ],
        "max_completion_tokens": 60
    }))
    .expect("a valid request");
    client.chat().create(request).await
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // reqwest is built without a bundled crypto provider (see panoptic-gcp).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let _fake;
    let config = match std::env::var("OPENAI_API_KEY") {
        Ok(key) => OpenAIConfig::new().with_api_key(key),
        Err(_) => {
            let fake = fake_openai::start().await;
            println!(
                "OPENAI_API_KEY is not set: asking a local fake at {}",
                fake.uri()
            );
            let config = OpenAIConfig::new()
                .with_api_base(format!("{}/v1", fake.uri()))
                .with_api_key("sk-fake");
            _fake = fake;
            config
        }
    };
    let client = Client::with_config(config);
    let guard = Panoptic::builder().username("openai example").install()?;

    let reply = summarize(&client, "panoptic records what each function costs.").await?;
    let usage = reply.usage.as_ref().expect("usage");
    println!(
        "{}: {} prompt tokens ({} cached), {} completion tokens",
        reply.model,
        usage.prompt_tokens,
        usage
            .prompt_tokens_details
            .as_ref()
            .and_then(|d| d.cached_tokens)
            .unwrap_or(0),
        usage.completion_tokens
    );

    // A stream is billed when it ends, from the usage chunk it asked for.
    let mut request: CreateChatCompletionRequest = serde_json::from_value(serde_json::json!({
        "model": "gpt-4o-mini",
        "messages": [{ "role": "user", "content": "Count to three." }],
        "stream": true
    }))?;
    ask_for_usage(&mut request);
    let stream = client.chat().create_stream(request.clone()).await?;
    let mut stream = MeteredChatStream::new(stream, &request).resource("count_stream");
    while let Some(chunk) = stream.next().await {
        for choice in chunk?.choices {
            print!("{}", choice.delta.content.unwrap_or_default());
        }
    }
    println!();
    drop(stream);

    println!("stats: {:?}", guard.stats());
    println!("see the priced events: panoptic report --provider openai --by resource");
    Ok(())
}

/// A local stand-in for the OpenAI API with the exact JSON it returns.
mod fake_openai {
    use wiremock::matchers::{body_partial_json, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    pub async fn start() -> MockServer {
        let server = MockServer::start().await;
        let chunk = |delta: serde_json::Value, usage: serde_json::Value| {
            serde_json::json!({
                "id": "chatcmpl-fake2", "object": "chat.completion.chunk", "created": 1741569952,
                "model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_fake",
                "choices": delta, "usage": usage
            })
        };
        let text = |t: &str| serde_json::json!([{ "index": 0, "delta": { "content": t }, "logprobs": null, "finish_reason": null }]);
        let events: String = [
            chunk(text("1, "), serde_json::Value::Null),
            chunk(text("2, 3."), serde_json::Value::Null),
            chunk(
                serde_json::json!([]),
                serde_json::json!({ "prompt_tokens": 12, "completion_tokens": 6, "total_tokens": 18 }),
            ),
        ]
        .iter()
        .map(|c| format!("data: {c}\n\n"))
        .chain(std::iter::once("data: [DONE]\n\n".to_owned()))
        .collect();
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .and(body_partial_json(serde_json::json!({ "stream": true })))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("content-type", "text/event-stream")
                    .set_body_string(events),
            )
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "id": "chatcmpl-fake1", "object": "chat.completion", "created": 1741569952,
                "model": "gpt-4o-mini-2024-07-18",
                "choices": [{ "index": 0, "message": { "role": "assistant",
                    "content": "panoptic prices every call from a dated price book.",
                    "refusal": null, "annotations": [] }, "logprobs": null, "finish_reason": "stop" }],
                "usage": { "prompt_tokens": 1000, "completion_tokens": 500, "total_tokens": 1500,
                    "prompt_tokens_details": { "cached_tokens": 200, "audio_tokens": 0 },
                    "completion_tokens_details": { "reasoning_tokens": 0, "audio_tokens": 0,
                        "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0 } },
                "service_tier": "default", "system_fingerprint": "fp_fake"
            })))
            .mount(&server)
            .await;
        server
    }
}
