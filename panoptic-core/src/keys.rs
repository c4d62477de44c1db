//! The field names of a stored event, written once. The document builder,
//! the reader of stored documents, the slog record reader, the slog
//! key-values of a call and the logger context all use these.

/// The event's id, made on the client.
pub const ID: &str = "_id";
/// When the call ended (UTC).
pub const TS: &str = "ts";
/// Project id (null when none was given).
pub const PROJECT_ID: &str = "projectId";
/// Canonical environment.
pub const ENV: &str = "env";
/// Username as given.
pub const USERNAME: &str = "username";
/// `INFRA` or `AI`.
pub const CATEGORY: &str = "category";
/// Provider name.
pub const PROVIDER: &str = "provider";
/// Service name.
pub const SERVICE: &str = "service";
/// What was billed.
pub const RESOURCE: &str = "resource";
/// The record's kind.
pub const KIND: &str = "kind";
/// How the call ended.
pub const OUTCOME: &str = "outcome";
/// How much was used.
pub const QUANTITY: &str = "quantity";
/// Unit of the quantity.
pub const UNIT: &str = "unit";
/// What it cost (Decimal128).
pub const AMOUNT: &str = "amount";
/// ISO 4217 currency code.
pub const CURRENCY: &str = "currency";
/// The sub-document of everything else.
pub const METADATA: &str = "metadata";

/// Keys inside `metadata`.
pub mod metadata {
    /// The annotated function's identifier.
    pub const FUNCTION_NAME: &str = "function_name";
    /// `Type::method` for methods.
    pub const QUALIFIED_NAME: &str = "qualified_name";
    /// `module_path!()` of the call site.
    pub const MODULE_PATH: &str = "module_path";
    /// Wall time of the call in milliseconds.
    pub const DURATION_MS: &str = "duration_ms";
    /// Argument types as written.
    pub const ARGS_TYPES: &str = "args_types";
    /// End user the call was made for.
    pub const USER: &str = "user";
    /// Request id.
    pub const REQUEST_ID: &str = "requestId";
    /// Free-form tags.
    pub const TAGS: &str = "tags";
    /// The error's text.
    pub const ERROR: &str = "error";
    /// The record's message, kept when an explicit resource replaced it.
    pub const MESSAGE: &str = "message";

    /// The prices an amount was computed with: entry, currency and, per
    /// component, quantity, unit price, per, unit, amount, source, checked
    /// and effective dates.
    pub const PRICE: &str = "price";
    /// Raw usage as the provider reported it (tokens: input, cached_input,
    /// output, reasoning).
    pub const USAGE: &str = "usage";
    /// Why there is no amount.
    pub const UNPRICED: &str = "unpriced";
    /// `true` when some figure is an estimate.
    pub const ESTIMATED: &str = "estimated";
    /// Who set the amount: `price_book`, `given`, or a provider calculator.
    pub const PRICED_BY: &str = "priced_by";
    /// Links a start record (a budget reservation) to the call's final
    /// event.
    pub const CALL_ID: &str = "call_id";
    /// `true` on a start record: a call began (its final event carries the
    /// same `call_id`). Never summed as spend.
    pub const START: &str = "start";
    /// What a start record expects the call to cost.
    pub const ESTIMATE: &str = "estimate";
    /// On a budgeted call whose reservation got no answer within its bound
    /// (or that MongoDB failed): the policy its budget applied,
    /// `fail_open` (the call ran, holding nothing) or `fail_closed`
    /// (refused). Absent when the reservation was answered.
    pub const BUDGET_UNANSWERED: &str = "budget_unanswered";
    /// `true` on a budget alert record: not a call, never counted in
    /// reports.
    pub const ALERT: &str = "alert";
    /// An amount given with a call that could not be priced (its provider
    /// or service unknown): kept for the record, never summed.
    pub const AMOUNT_GIVEN: &str = "amount_given";
    /// The trace the call ran in (OpenTelemetry's trace id, hex): finds
    /// the event from its trace.
    pub const TRACE_ID: &str = "trace_id";
    /// The caller's span when the call ended (OpenTelemetry's span id, hex).
    pub const SPAN_ID: &str = "span_id";

    /// The keys [`Metadata`](crate::Metadata) has a field for.
    pub const KNOWN: [&str; 9] = [
        FUNCTION_NAME,
        QUALIFIED_NAME,
        MODULE_PATH,
        DURATION_MS,
        ARGS_TYPES,
        USER,
        REQUEST_ID,
        TAGS,
        ERROR,
    ];
}

/// Spellings a slog record may use for a key, beside the stored one.
pub(crate) mod aliases {
    /// `project_id` for `projectId`.
    pub const PROJECT_ID: &str = "project_id";
    /// `request_id` for `requestId`.
    pub const REQUEST_ID: &str = "request_id";
}
