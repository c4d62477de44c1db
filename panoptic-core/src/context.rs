//! The owned context a child logger carries: who and where its events
//! belong to.

use std::sync::Arc;

use slog::{KV, Record, Serializer};

use crate::keys;

/// Who and where an event belongs to: the context of a child logger.
///
/// ```
/// let context = panoptic_core::Context {
///     provider: "gcp".into(),
///     service: "BigQuery".into(),
///     username: "John Doe".into(),
///     project_id: Some("my-project".into()),
///     env: "dev".into(),
/// };
/// assert_eq!(panoptic_core::naming::collection_name(&context.provider, &context.username), "gcp_john_doe");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Context {
    /// Provider name (`gcp`, …).
    pub provider: String,
    /// Service name (`BigQuery`, …).
    pub service: String,
    /// Username as given to the builder.
    pub username: String,
    /// Project id, if any.
    pub project_id: Option<String>,
    /// Canonical environment name.
    pub env: String,
}

impl Context {
    /// The slog key-values a child logger owns for this context.
    pub(crate) fn owned_kv(self: &Arc<Self>) -> slog::OwnedKV<ContextKv> {
        slog::OwnedKV(ContextKv(Arc::clone(self)))
    }
}

/// A child logger's context as one slog `KV`, so cloning a logger never
/// copies strings.
#[derive(Clone)]
pub struct ContextKv(Arc<Context>);

impl KV for ContextKv {
    fn serialize(&self, _record: &Record, serializer: &mut dyn Serializer) -> slog::Result {
        let c = &self.0;
        // Reverse order of the stored fields: slog serializes newest first.
        match &c.project_id {
            Some(project) => serializer.emit_str(keys::PROJECT_ID, project)?,
            None => serializer.emit_none(keys::PROJECT_ID)?,
        }
        serializer.emit_str(keys::ENV, &c.env)?;
        serializer.emit_str(keys::USERNAME, &c.username)?;
        serializer.emit_str(keys::SERVICE, &c.service)?;
        serializer.emit_str(keys::PROVIDER, &c.provider)
    }
}
