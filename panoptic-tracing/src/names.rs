//! The field names both directions use: panoptic's own, and the
//! OpenTelemetry GenAI attributes the layer understands.

/// The target of the events `#[billable]` calls become; the layer never
/// bills a span or an event of this target.
pub const TARGET: &str = "panoptic";

/// Provider name (`openai`, `gcp`, …).
pub const PROVIDER: &str = "provider";
/// Service name (`ChatCompletions`, `BigQuery`, …).
pub const SERVICE: &str = "service";
/// What is billed; the span's name when absent.
pub const RESOURCE: &str = "resource";
/// An amount given (wins over the price book).
pub const AMOUNT: &str = "amount";
/// How much was used.
pub const QUANTITY: &str = "quantity";
/// Unit of the quantity.
pub const UNIT: &str = "unit";
/// Currency of a given amount.
pub const CURRENCY: &str = "currency";
/// The call failed: the value is the error's text.
pub const ERROR: &str = "error";
/// `ok`, `error`, `panic`, `cancelled`, `refused`, when given.
pub const OUTCOME: &str = "outcome";
/// The end user.
pub const USER: &str = "user";
/// The request id.
pub const REQUEST_ID: &str = "request_id";
/// The span's status as `tracing-opentelemetry` spells it (`ERROR`).
pub const OTEL_STATUS_CODE: &str = "otel.status_code";
/// Usage fields: `usage.item` (model or SKU), `usage.region`,
/// `usage.variant`, and `usage.<component>` for each price component
/// (`usage.input`, `usage.gb_seconds`, …).
pub const USAGE_PREFIX: &str = "usage.";
/// How long a `#[billable]` call ran, in milliseconds (its event only).
pub const DURATION_MS: &str = "duration_ms";

/// OpenTelemetry GenAI attributes (semantic conventions, gen-ai
/// registry), and the cost attributes of the proposal
/// open-telemetry/semantic-conventions-genai#443.
pub mod gen_ai {
    /// The provider (`openai`, `aws.bedrock`); replaces `gen_ai.system`.
    pub const PROVIDER_NAME: &str = "gen_ai.provider.name";
    /// The provider, by its older name.
    pub const SYSTEM: &str = "gen_ai.system";
    /// `chat`, `text_completion`, `embeddings`, `generate_content`, …
    pub const OPERATION_NAME: &str = "gen_ai.operation.name";
    /// The model asked for.
    pub const REQUEST_MODEL: &str = "gen_ai.request.model";
    /// The model that answered (a dated snapshot): priced first.
    pub const RESPONSE_MODEL: &str = "gen_ai.response.model";
    /// Input tokens, cached ones included.
    pub const INPUT_TOKENS: &str = "gen_ai.usage.input_tokens";
    /// Output tokens.
    pub const OUTPUT_TOKENS: &str = "gen_ai.usage.output_tokens";
    /// Input tokens served from the provider's cache (a part of
    /// [`INPUT_TOKENS`]).
    pub const CACHE_READ_INPUT_TOKENS: &str = "gen_ai.usage.cache_read.input_tokens";
    /// The call's cost (#443: a double).
    pub const COST_AMOUNT: &str = "gen_ai.usage.cost.amount";
    /// The cost's ISO 4217 currency (#443).
    pub const COST_CURRENCY: &str = "gen_ai.usage.cost.currency";
    /// `provider` when the response carried the cost, `local` when the
    /// recorder priced it (#443).
    pub const COST_SOURCE: &str = "gen_ai.usage.cost.source";
}

/// Whether a span declaring `field` carries a cost: the layer follows
/// only such spans.
pub(crate) fn marks_cost(field: &str) -> bool {
    matches!(
        field,
        PROVIDER | gen_ai::PROVIDER_NAME | gen_ai::SYSTEM | gen_ai::REQUEST_MODEL
    )
}
