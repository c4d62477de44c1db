//! What an OpenAI call used, read from `async-openai`'s response types.
//!
//! Token calls give the components the book prices: `input` (uncached
//! prompt tokens), `cached_input` and `output` (completion tokens, reasoning
//! included). Audio calls give `characters` (speech) or `minutes`
//! (transcription). The item is the model exactly as the API returned it:
//! resolving a snapshot name to its price is the book's job.
//!
//! ```
//! # use async_openai::types::chat::CreateChatCompletionResponse;
//! use panoptic_prices::Metered;
//!
//! fn priced(reply: &CreateChatCompletionResponse) {
//!     if let Some(usage) = reply.usage() {
//!         assert_eq!(usage.item, reply.model);
//!     }
//! }
//! ```

use std::time::Duration;

use async_openai::types::audio::{CreateSpeechRequest, SpeechModel};
use async_openai::types::chat::{
    ChatCompletionMessageToolCalls, ChatCompletionRequestAssistantMessageContent,
    ChatCompletionRequestAssistantMessageContentPart, ChatCompletionRequestDeveloperMessageContent,
    ChatCompletionRequestDeveloperMessageContentPart, ChatCompletionRequestMessage,
    ChatCompletionRequestSystemMessageContent, ChatCompletionRequestSystemMessageContentPart,
    ChatCompletionRequestToolMessageContent, ChatCompletionRequestToolMessageContentPart,
    ChatCompletionRequestUserMessageContent, ChatCompletionRequestUserMessageContentPart,
    ChatCompletionStreamOptions, CompletionUsage, CreateChatCompletionRequest,
    CreateChatCompletionResponse, CreateChatCompletionStreamResponse,
};
use async_openai::types::embeddings::{
    CreateBase64EmbeddingResponse, CreateEmbeddingResponse, EmbeddingUsage,
};
use async_openai::types::responses::{Response, ResponseUsage};
use rust_decimal::Decimal;

use crate::{Metered, PriceBook, Usage};

/// Characters per token in the streaming estimate: OpenAI's rule of thumb
/// that one token is about four characters of English text.
const CHARS_PER_TOKEN: u64 = 4;

/// A token call's raw counts, as the provider reports them.
#[derive(Default)]
struct Counts {
    prompt: u32,
    /// Of `prompt`: served from the prompt cache.
    cached: u32,
    /// Of `prompt`: audio, priced at its own rate.
    audio_in: u32,
    completion: u32,
    /// Of `completion`: hidden reasoning, billed as output.
    reasoning: u32,
    /// Of `completion`: audio, priced at its own rate.
    audio_out: u32,
    total: u32,
}

/// The usage of a token call from the provider's raw counts.
///
/// `cached` and `audio_in` are parts of `prompt`, `reasoning` and
/// `audio_out` parts of `completion`: never added on top. Saturating, so
/// a malformed reply (cached > prompt) prices as all-cached, not a panic.
fn tokens(model: &str, counts: Counts) -> Usage {
    let cached = counts.cached.min(counts.prompt);
    let audio_in = counts.audio_in.min(counts.prompt - cached);
    let audio_out = counts.audio_out.min(counts.completion);
    let mut usage =
        Usage::new(model).with("input", Decimal::from(counts.prompt - cached - audio_in));
    // Each only when non-zero: a model without that price (older models,
    // embeddings, text-only models) must still price when none was used;
    // audio on a model with no audio price leaves the call unpriced, with
    // the reason, rather than priced as text.
    if cached > 0 {
        usage = usage.with("cached_input", Decimal::from(cached));
    }
    if audio_in > 0 {
        usage = usage.with("audio_input", Decimal::from(audio_in));
    }
    usage = usage.with("output", Decimal::from(counts.completion - audio_out));
    if audio_out > 0 {
        usage = usage.with("audio_output", Decimal::from(audio_out));
    }
    usage
        .detail("input", Decimal::from(counts.prompt))
        .detail("cached_input", Decimal::from(cached))
        .detail("audio_input", Decimal::from(audio_in))
        .detail("output", Decimal::from(counts.completion))
        .detail("reasoning", Decimal::from(counts.reasoning))
        .detail("audio_output", Decimal::from(audio_out))
        .total(Decimal::from(counts.total), "tokens")
}

fn completion_usage(model: &str, usage: &CompletionUsage) -> Usage {
    let prompt = usage.prompt_tokens_details.as_ref();
    let completion = usage.completion_tokens_details.as_ref();
    tokens(
        model,
        Counts {
            prompt: usage.prompt_tokens,
            cached: prompt.and_then(|d| d.cached_tokens).unwrap_or(0),
            audio_in: prompt.and_then(|d| d.audio_tokens).unwrap_or(0),
            completion: usage.completion_tokens,
            reasoning: completion.and_then(|d| d.reasoning_tokens).unwrap_or(0),
            audio_out: completion.and_then(|d| d.audio_tokens).unwrap_or(0),
            total: usage.total_tokens,
        },
    )
}

/// Chat Completions: `input`, `cached_input`, `audio_input` (when any),
/// `output`, `audio_output` (when any).
impl Metered for CreateChatCompletionResponse {
    fn usage(&self) -> Option<Usage> {
        self.usage
            .as_ref()
            .map(|u| completion_usage(&self.model, u))
    }
}

/// Responses API: `input`, `cached_input` (when any), `output`.
impl Metered for Response {
    fn usage(&self) -> Option<Usage> {
        self.usage.as_ref().map(|u: &ResponseUsage| {
            tokens(
                &self.model,
                Counts {
                    prompt: u.input_tokens,
                    cached: u.input_tokens_details.cached_tokens,
                    completion: u.output_tokens,
                    reasoning: u.output_tokens_details.reasoning_tokens,
                    total: u.total_tokens,
                    ..Counts::default()
                },
            )
        })
    }
}

fn embedding_usage(model: &str, usage: &EmbeddingUsage) -> Usage {
    Usage::new(model)
        .with("input", Decimal::from(usage.prompt_tokens))
        .detail("input", Decimal::from(usage.prompt_tokens))
        .total(Decimal::from(usage.total_tokens), "tokens")
}

/// Embeddings: `input` only (embeddings have no output or cache price).
impl Metered for CreateEmbeddingResponse {
    fn usage(&self) -> Option<Usage> {
        Some(embedding_usage(&self.model, &self.usage))
    }
}

/// Embeddings returned as base64: same as [`CreateEmbeddingResponse`].
impl Metered for CreateBase64EmbeddingResponse {
    fn usage(&self) -> Option<Usage> {
        Some(embedding_usage(&self.model, &self.usage))
    }
}

/// Asks a streamed chat completion for its final usage chunk
/// (`stream_options.include_usage = true`), keeping any other stream
/// option the caller set. Without it a stream reports no usage at all and
/// [`ChatStreamMeter`] can only estimate.
pub fn ask_for_usage(request: &mut CreateChatCompletionRequest) {
    let options = request
        .stream_options
        .get_or_insert_with(ChatCompletionStreamOptions::default);
    options.include_usage = Some(true);
}

/// Tokens of framing per prompt message, and for priming the reply, in
/// the request estimate (OpenAI's cookbook, *How to count tokens with
/// tiktoken*: 3 per message, 3 for `<|start|>assistant<|message|>`).
const TOKENS_PER_MESSAGE: u64 = 3;
const REPLY_PRIMING_TOKENS: u64 = 3;

/// The prompt's tokens as panoptic estimates them, the one estimator for
/// a request before it is sent ([`chat_request_usage`]) and for a stream
/// that ended without its usage chunk ([`ChatStreamMeter`]): ⌈c / 4⌉ +
/// 3 × messages + 3, where c is the characters (Unicode scalar values) of
/// the messages' text, four characters a token (OpenAI's rule of thumb),
/// plus the framing tokens each message and the reply's priming cost.
pub fn estimate_prompt_tokens(request: &CreateChatCompletionRequest) -> u64 {
    let chars: u64 = request.messages.iter().map(message_chars).sum();
    let messages = request.messages.len() as u64;
    chars
        .div_ceil(CHARS_PER_TOKEN)
        .saturating_add(TOKENS_PER_MESSAGE.saturating_mul(messages))
        .saturating_add(REPLY_PRIMING_TOKENS)
}

/// What a chat completion request can use at most, before it is sent: a
/// budget's estimate ([`estimate_chat`]).
///
/// * `input` = [`estimate_prompt_tokens`]. It is an estimate, not a
///   tokenizer's count: images, audio, files and tool definitions are not
///   counted.
/// * `output` = `max_completion_tokens` (else the deprecated
///   `max_tokens`) × `n`: the most the reply can bill, reasoning tokens
///   included.
///
/// `None` when the request sets neither `max_completion_tokens` nor
/// `max_tokens`: the reply is unbounded, so there is no estimate to hold.
/// No `cached_input`: all input at the full rate. Marked estimated; the
/// call's real usage settles its reservation when it ends.
#[allow(deprecated)] // `max_tokens` is deprecated, still honoured by the API
pub fn chat_request_usage(request: &CreateChatCompletionRequest) -> Option<Usage> {
    let cap = request.max_completion_tokens.or(request.max_tokens)?;
    let input = estimate_prompt_tokens(request);
    let output = u64::from(cap).saturating_mul(u64::from(request.n.unwrap_or(1).max(1)));
    Some(
        Usage::new(&request.model)
            .with("input", Decimal::from(input))
            .with("output", Decimal::from(output))
            .detail("input", Decimal::from(input))
            .detail("output", Decimal::from(output))
            .total(Decimal::from(input.saturating_add(output)), "tokens")
            .estimated(),
    )
}

/// The most a chat completion request can cost at list price, for a
/// budget's `estimate`: [`chat_request_usage`] priced by `book` as of
/// `on`. `None` when the request has no token cap or the book cannot
/// price the model.
pub fn estimate_chat_in(
    book: &PriceBook,
    request: &CreateChatCompletionRequest,
    on: chrono::NaiveDate,
) -> Option<Decimal> {
    let usage = chat_request_usage(request)?;
    book.price("openai", "ChatCompletions", &usage, on)
        .ok()
        .map(|p| p.amount)
}

/// [`estimate_chat_in`] with the book panoptic prices calls with (the
/// shipped tables, overridden by the file named in `PANOPTIC_PRICES`)
/// as of today (UTC).
///
/// ```text
/// #[billable(provider = "openai", service = "ChatCompletions", budget = "llm-daily",
///            estimate = estimate_chat(&request))]
/// async fn ask(client: &Client<OpenAIConfig>, request: CreateChatCompletionRequest)
///     -> Result<CreateChatCompletionResponse, AppError> { … }
/// ```
///
/// `None` (no `max_completion_tokens`/`max_tokens`, or a model the book
/// does not know) reserves nothing: the call is refused only when its
/// budget is already spent, and its real amount is counted when it
/// ends. Write `estimate_chat(&request).unwrap_or(dec!(0.05))` to hold
/// a fixed amount instead.
pub fn estimate_chat(request: &CreateChatCompletionRequest) -> Option<Decimal> {
    estimate_chat_in(
        PriceBook::current(),
        request,
        chrono::Utc::now().date_naive(),
    )
}

/// Meters a streamed chat completion, chunk by chunk.
///
/// Call [`ask_for_usage`] on the request first: the API then sends, last
/// before `[DONE]`, a chunk whose `usage` is exact, and [`finish`] returns
/// it as a non-stream response would.
///
/// When that chunk never came (usage not asked for, or the stream was cut
/// short: OpenAI warns an interrupted stream may not send it) the result
/// is an estimate, marked [`Usage::estimated`]:
///
/// * `input` = [`estimate_prompt_tokens`] of the request: ⌈c / 4⌉ of the
///   characters of all its message texts (text content parts, refusals,
///   names and arguments of tool calls) plus the framing tokens, as a
///   budget's estimate counts them;
/// * `output` = ⌈c / 4⌉ where c is the characters received across all
///   choices: content, refusal, tool-call names and arguments;
/// * no `cached_input` (the cache is unknown, so all input is priced at
///   the full rate), and `total` = input + output.
///
/// The four is OpenAI's published rule of thumb, "1 token ≈ 4 chars in
/// English" (OpenAI Help Center, *What are tokens and how to count them?*,
/// <https://help.openai.com/en/articles/4936856-what-are-tokens-and-how-to-count-them>).
/// It undercounts what the API bills for: images,
/// audio and files in the prompt, hidden reasoning tokens, and tokens
/// generated after the connection dropped are not seen.
///
/// [`finish`]: ChatStreamMeter::finish
#[derive(Debug, Clone)]
pub struct ChatStreamMeter {
    model: String,
    prompt_tokens: u64,
    // Only the count: the estimate needs no more, and the caller already
    // holds the text it streamed.
    output_chars: u64,
    final_usage: Option<CompletionUsage>,
}

impl ChatStreamMeter {
    /// A meter for `request`; it reads the model and the prompt's text now
    /// so that the request need not outlive the stream.
    pub fn new(request: &CreateChatCompletionRequest) -> ChatStreamMeter {
        ChatStreamMeter {
            model: request.model.clone(),
            prompt_tokens: estimate_prompt_tokens(request),
            output_chars: 0,
            final_usage: None,
        }
    }

    /// Takes one chunk into account: the model as the API names it (the
    /// snapshot, not the alias asked for), the text received, and the
    /// usage when this is the final usage chunk.
    #[allow(deprecated)] // `function_call` still streams from older models
    pub fn observe(&mut self, chunk: &CreateChatCompletionStreamResponse) {
        if !chunk.model.is_empty() {
            self.model.clone_from(&chunk.model);
        }
        for choice in &chunk.choices {
            let delta = &choice.delta;
            let mut chars = opt_chars(&delta.content) + opt_chars(&delta.refusal);
            if let Some(call) = &delta.function_call {
                chars += opt_chars(&call.name) + opt_chars(&call.arguments);
            }
            for call in delta.tool_calls.iter().flatten() {
                if let Some(function) = &call.function {
                    chars += opt_chars(&function.name) + opt_chars(&function.arguments);
                }
            }
            self.output_chars = self.output_chars.saturating_add(chars);
        }
        if let Some(usage) = &chunk.usage {
            self.final_usage = Some(usage.clone());
        }
    }

    /// Whether the final usage chunk has been seen (so [`finish`] is exact).
    ///
    /// [`finish`]: ChatStreamMeter::finish
    pub fn has_final_usage(&self) -> bool {
        self.final_usage.is_some()
    }

    /// The exact usage when the final usage chunk came, else the estimate
    /// described on [`ChatStreamMeter`].
    pub fn finish(self) -> Usage {
        self.current()
    }

    /// The estimate, as [`finish`] gives when no usage chunk came: for a
    /// caller that knows the stream broke off and wants that said.
    ///
    /// [`finish`]: ChatStreamMeter::finish
    pub fn finish_cut_short(self) -> Usage {
        self.estimate()
    }

    fn current(&self) -> Usage {
        match &self.final_usage {
            Some(usage) => completion_usage(&self.model, usage),
            None => self.estimate(),
        }
    }

    fn estimate(&self) -> Usage {
        let input = self.prompt_tokens;
        let output = self.output_chars.div_ceil(CHARS_PER_TOKEN);
        Usage::new(&self.model)
            .with("input", Decimal::from(input))
            .with("output", Decimal::from(output))
            .detail("input", Decimal::from(input))
            .detail("output", Decimal::from(output))
            .total(Decimal::from(input.saturating_add(output)), "tokens")
            .estimated()
    }
}

/// So far: exact once the usage chunk came, else the estimate. Lets a
/// `#[billable]` function return the meter itself.
impl Metered for ChatStreamMeter {
    fn usage(&self) -> Option<Usage> {
        Some(self.current())
    }
}

fn chars(text: &str) -> u64 {
    text.chars().count() as u64
}

fn opt_chars(text: &Option<String>) -> u64 {
    text.as_deref().map_or(0, chars)
}

/// Characters of a prompt message's text; images, audio and files are not
/// text and are left out (the estimate says so).
#[allow(deprecated)] // `function_call` is still accepted in history
fn message_chars(message: &ChatCompletionRequestMessage) -> u64 {
    use ChatCompletionRequestMessage as M;
    match message {
        M::Developer(m) => match &m.content {
            ChatCompletionRequestDeveloperMessageContent::Text(t) => chars(t),
            ChatCompletionRequestDeveloperMessageContent::Array(parts) => parts
                .iter()
                .map(|ChatCompletionRequestDeveloperMessageContentPart::Text(p)| chars(&p.text))
                .sum(),
        },
        M::System(m) => match &m.content {
            ChatCompletionRequestSystemMessageContent::Text(t) => chars(t),
            ChatCompletionRequestSystemMessageContent::Array(parts) => parts
                .iter()
                .map(|ChatCompletionRequestSystemMessageContentPart::Text(p)| chars(&p.text))
                .sum(),
        },
        M::User(m) => match &m.content {
            ChatCompletionRequestUserMessageContent::Text(t) => chars(t),
            ChatCompletionRequestUserMessageContent::Array(parts) => parts
                .iter()
                .map(|part| match part {
                    ChatCompletionRequestUserMessageContentPart::Text(p) => chars(&p.text),
                    _ => 0,
                })
                .sum(),
        },
        M::Assistant(m) => {
            let content = match &m.content {
                None => 0,
                Some(ChatCompletionRequestAssistantMessageContent::Text(t)) => chars(t),
                Some(ChatCompletionRequestAssistantMessageContent::Array(parts)) => parts
                    .iter()
                    .map(|part| match part {
                        ChatCompletionRequestAssistantMessageContentPart::Text(p) => chars(&p.text),
                        ChatCompletionRequestAssistantMessageContentPart::Refusal(p) => {
                            chars(&p.refusal)
                        }
                    })
                    .sum(),
            };
            let calls: u64 = m
                .tool_calls
                .iter()
                .flatten()
                .map(|call| match call {
                    ChatCompletionMessageToolCalls::Function(c) => {
                        chars(&c.function.name) + chars(&c.function.arguments)
                    }
                    ChatCompletionMessageToolCalls::Custom(c) => {
                        chars(&c.custom_tool.name) + chars(&c.custom_tool.input)
                    }
                })
                .sum();
            let function = m
                .function_call
                .as_ref()
                .map_or(0, |f| chars(&f.name) + chars(&f.arguments));
            content + opt_chars(&m.refusal) + calls + function
        }
        M::Tool(m) => match &m.content {
            ChatCompletionRequestToolMessageContent::Text(t) => chars(t),
            ChatCompletionRequestToolMessageContent::Array(parts) => parts
                .iter()
                .map(|ChatCompletionRequestToolMessageContentPart::Text(p)| chars(&p.text))
                .sum(),
        },
        M::Function(m) => opt_chars(&m.content),
    }
}

/// The model's API name, as the request serializes it.
#[allow(deprecated)] // the named variants are deprecated, still billed
fn speech_model(model: &SpeechModel) -> String {
    match model {
        SpeechModel::Tts1 => "tts-1".to_owned(),
        SpeechModel::Tts1Hd => "tts-1-hd".to_owned(),
        SpeechModel::Gpt4oMiniTts => "gpt-4o-mini-tts".to_owned(),
        SpeechModel::Other(name) => name.clone(),
    }
}

/// Text to speech (`/v1/audio/speech`): the `characters` of `input`
/// (Unicode scalar values), item = the model's API name, total in
/// `characters`.
///
/// `tts-1` and `tts-1-hd` are priced per character. `gpt-4o-mini-tts` is
/// priced by text and audio tokens, which the speech endpoint does not
/// return: the book decides whether it prices characters for that model.
pub fn speech_usage(request: &CreateSpeechRequest) -> Usage {
    let characters = Decimal::from(chars(&request.input));
    Usage::new(speech_model(&request.model))
        .with("characters", characters)
        .detail("characters", characters)
        .total(characters, "characters")
}

/// Transcription or translation priced per minute of audio (`whisper-1`):
/// `minutes` = the duration rounded to the nearest whole second (half a
/// second rounds up), divided by 60. Total and detail are the rounded
/// `seconds`, which stay exact where minutes do not.
///
/// OpenAI lists Whisper at a price per minute. Its pricing page has said
/// "(rounded to the nearest second)"; today's `whisper-1` model page gives
/// only the per-minute price. Per-second rounding is therefore applied,
/// not rounding up to whole minutes. The token-billed transcription models
/// (`gpt-4o-transcribe`, `gpt-4o-mini-transcribe`) return token usage
/// instead and are not priced by this.
pub fn transcription_usage(model: &str, audio: Duration) -> Usage {
    let seconds = audio.as_secs() + u64::from(audio.subsec_nanos() >= 500_000_000);
    let seconds = Decimal::from(seconds);
    Usage::new(model)
        .with("minutes", seconds / Decimal::from(60))
        .detail("seconds", seconds)
        .total(seconds, "seconds")
}

/// The same usage at the Batch API's price (`batch` variant), for a
/// caller whose service is not itself named `Batch`.
pub fn batch(usage: Usage) -> Usage {
    usage.variant("batch")
}
