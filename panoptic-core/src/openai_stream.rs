//! A streamed chat completion, billed when the stream ends: from the final
//! usage chunk it asked for, or, when the stream is cut short, from an
//! estimate marked `metadata.estimated` (see
//! [`ChatStreamMeter`](panoptic_prices::openai::ChatStreamMeter)).

use std::fmt::Display;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use async_openai::types::chat::{CreateChatCompletionRequest, CreateChatCompletionStreamResponse};
use futures_util::Stream;
use panoptic_catalog::Provider;
use panoptic_prices::openai::ChatStreamMeter;

use crate::event::Outcome;
use crate::handle::{UsageEvent, global};

pub use panoptic_prices::openai::ask_for_usage;

/// Wraps a chat completion stream; one `token_usage` event is recorded
/// when it ends, errs, or is dropped before its end (outcome `cancelled`,
/// usage estimated). Ask for the usage chunk first with [`ask_for_usage`].
///
/// The event's resource is the innermost `#[billable]` function running
/// when the stream is wrapped, else `chat_stream`; set it with
/// [`resource`](MeteredChatStream::resource).
pub struct MeteredChatStream<S> {
    inner: S,
    meter: Option<ChatStreamMeter>,
    started: Instant,
    resource: String,
    service: String,
    user: Option<String>,
    error: Option<String>,
}

impl<S> MeteredChatStream<S> {
    /// Meters `stream`, the answer to `request`.
    pub fn new(stream: S, request: &CreateChatCompletionRequest) -> MeteredChatStream<S> {
        MeteredChatStream {
            inner: stream,
            meter: Some(ChatStreamMeter::new(request)),
            started: Instant::now(),
            resource: crate::active_resource().unwrap_or_else(|| "chat_stream".to_owned()),
            service: "ChatCompletions".to_owned(),
            user: None,
            error: None,
        }
    }

    /// Names the resource billed.
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resource = resource.into();
        self
    }

    /// The end user the call is for.
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// Bills it as an OpenAI Batch call (half price).
    pub fn batch(mut self) -> Self {
        self.service = "Batch".to_owned();
        self
    }

    fn bill(&mut self, ended: bool) {
        let Some(meter) = self.meter.take() else {
            return;
        };
        let usage = meter.finish();
        let outcome = match (&self.error, ended) {
            (Some(_), _) => Outcome::Error,
            (None, true) => Outcome::Ok,
            (None, false) => Outcome::Cancelled,
        };
        if let Some(panoptic) = global() {
            panoptic.emit_usage(UsageEvent {
                provider: Provider::OpenAi,
                service: self.service.clone(),
                resource: self.resource.clone(),
                usage,
                outcome,
                error: self.error.take(),
                duration: self.started.elapsed(),
                user: self.user.take(),
            });
        }
    }
}

impl<S, E> Stream for MeteredChatStream<S>
where
    S: Stream<Item = Result<CreateChatCompletionStreamResponse, E>> + Unpin,
    E: Display,
{
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_next(cx);
        match &polled {
            Poll::Ready(Some(Ok(chunk))) => {
                if let Some(meter) = &mut this.meter {
                    meter.observe(chunk);
                }
            }
            Poll::Ready(Some(Err(error))) => {
                this.error = Some(error.to_string());
            }
            Poll::Ready(None) => this.bill(true),
            Poll::Pending => {}
        }
        polled
    }
}

impl<S> Drop for MeteredChatStream<S> {
    fn drop(&mut self) {
        self.bill(false);
    }
}
