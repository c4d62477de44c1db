//! The billing event: one document in MongoDB per billed call or charge.

use std::fmt;
use std::str::FromStr;

use bson::oid::ObjectId;
use bson::{Bson, Document, doc};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::money::{from_decimal128, to_decimal128};
pub use panoptic_catalog::{Category, Kind};

/// How a billed call ended.
///
/// ```
/// use panoptic_core::Outcome;
/// assert_eq!(Outcome::parse("error"), Some(Outcome::Error));
/// assert_eq!(Outcome::Cancelled.to_string(), "cancelled");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Returned normally (for a `Result`: returned `Ok`).
    Ok,
    /// Returned `Err`; the error's text is in `metadata.error`.
    Error,
    /// Panicked; the panic went on to the caller unchanged.
    Panic,
    /// An async call whose future was dropped before it completed.
    Cancelled,
}

impl Outcome {
    /// The stored name.
    ///
    /// ```
    /// assert_eq!(panoptic_core::Outcome::Panic.as_str(), "panic");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Error => "error",
            Outcome::Panic => "panic",
            Outcome::Cancelled => "cancelled",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<Outcome> {
        [
            Outcome::Ok,
            Outcome::Error,
            Outcome::Panic,
            Outcome::Cancelled,
        ]
        .into_iter()
        .find(|o| o.as_str() == name)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One billing event, as stored. Field names in MongoDB follow the original
/// plan (`projectId`, `metadata.requestId`); see [`BillingEvent::to_document`].
#[derive(Debug, Clone, PartialEq)]
pub struct BillingEvent {
    /// Made on the client, so that a replayed write never duplicates.
    pub id: ObjectId,
    /// When the call ended (UTC).
    pub ts: DateTime<Utc>,
    /// The project given to the builder, if any.
    pub project_id: Option<String>,
    /// Canonical environment (`prod`, `dev`, `staging`, or sanitized).
    pub env: String,
    /// The username as given (before sanitizing for the collection name).
    pub username: String,
    /// INFRA or AI.
    pub category: Category,
    /// Provider name (`gcp`, …).
    pub provider: String,
    /// Service name (`BigQuery`, …).
    pub service: String,
    /// What was billed: by default the annotated function's identifier.
    pub resource: String,
    /// The record's kind.
    pub kind: Kind,
    /// How the call ended.
    pub outcome: Outcome,
    /// How much was used, in `unit`s.
    pub quantity: f64,
    /// Unit of `quantity` (`call`, `bytes`, `tokens`, …).
    pub unit: String,
    /// What it cost, in `currency`. Stored as Decimal128.
    pub amount: Decimal,
    /// ISO 4217 code, `USD` by default.
    pub currency: String,
    /// Everything else.
    pub metadata: Metadata,
}

/// The `metadata` sub-document.
///
/// ```
/// let metadata = panoptic_core::Metadata {
///     function_name: Some("daily_report".into()),
///     args_types: vec!["NaiveDate".into()],
///     tags: vec!["nightly".into()],
///     ..Default::default()
/// };
/// assert!(metadata.error.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Metadata {
    /// The annotated function's identifier, exactly as written.
    pub function_name: Option<String>,
    /// `Type::method` for methods, else the identifier.
    pub qualified_name: Option<String>,
    /// `module_path!()` of the call site.
    pub module_path: Option<String>,
    /// Wall time of the call, in milliseconds (fractional).
    pub duration_ms: Option<f64>,
    /// Argument types as written in the signature; never their values.
    pub args_types: Vec<String>,
    /// End user the call was made for.
    pub user: Option<String>,
    /// Request id, stored as `requestId`.
    pub request_id: Option<String>,
    /// Free-form tags.
    pub tags: Vec<String>,
    /// The error's `Display` when the outcome is `error` (or the panic
    /// message when it is `panic`).
    pub error: Option<String>,
    /// Any other key logged with the record.
    pub extra: Document,
}

/// A stored document that is not a valid [`BillingEvent`].
#[derive(Debug, thiserror::Error)]
#[error("document is not a billing event: field `{field}` {problem}")]
pub struct DocumentError {
    field: &'static str,
    problem: String,
}

impl DocumentError {
    fn new(field: &'static str, problem: impl Into<String>) -> Self {
        Self {
            field,
            problem: problem.into(),
        }
    }
}

impl BillingEvent {
    /// The document written to MongoDB.
    ///
    /// ```
    /// use panoptic_core::{BillingEvent, Kind, Outcome, Category, Metadata};
    /// let event = BillingEvent {
    ///     id: bson::oid::ObjectId::new(),
    ///     ts: chrono::Utc::now(),
    ///     project_id: Some("my-project".into()),
    ///     env: "dev".into(),
    ///     username: "John Doe".into(),
    ///     category: Category::Infra,
    ///     provider: "gcp".into(),
    ///     service: "BigQuery".into(),
    ///     resource: "daily_report".into(),
    ///     kind: Kind::Invoice,
    ///     outcome: Outcome::Ok,
    ///     quantity: 1.0,
    ///     unit: "call".into(),
    ///     amount: "0.42".parse().unwrap(),
    ///     currency: "USD".into(),
    ///     metadata: Metadata::default(),
    /// };
    /// let doc = event.to_document();
    /// assert_eq!(doc.get_str("projectId").unwrap(), "my-project");
    /// assert!(matches!(doc.get("amount"), Some(bson::Bson::Decimal128(_))));
    /// assert_eq!(BillingEvent::from_document(&doc).unwrap(), event.clone_with_millis());
    /// ```
    pub fn to_document(&self) -> Document {
        self.clone().into_document()
    }

    /// The document written to MongoDB, moving the strings instead of
    /// copying them.
    pub fn into_document(self) -> Document {
        let m = self.metadata;
        let mut metadata = Document::new();
        let mut put = |key: &str, value: Option<Bson>| {
            if let Some(value) = value {
                metadata.insert(key, value);
            }
        };
        put("function_name", m.function_name.map(Bson::String));
        put("qualified_name", m.qualified_name.map(Bson::String));
        put("module_path", m.module_path.map(Bson::String));
        put("duration_ms", m.duration_ms.map(Bson::Double));
        put("args_types", Some(strings(m.args_types)));
        put("user", m.user.map(Bson::String));
        put("requestId", m.request_id.map(Bson::String));
        put("tags", Some(strings(m.tags)));
        put("error", m.error.map(Bson::String));
        for (key, value) in m.extra {
            if !metadata.contains_key(&key) {
                metadata.insert(key, value);
            }
        }
        doc! {
            "_id": self.id,
            "ts": bson::DateTime::from_chrono(self.ts),
            "projectId": self.project_id.map_or(Bson::Null, Bson::String),
            "env": self.env,
            "username": self.username,
            "category": self.category.as_str(),
            "provider": self.provider,
            "service": self.service,
            "resource": self.resource,
            "kind": self.kind.as_str(),
            "outcome": self.outcome.as_str(),
            "quantity": self.quantity,
            "unit": self.unit,
            "amount": to_decimal128(self.amount),
            "currency": self.currency,
            "metadata": metadata,
        }
    }

    /// Reads a stored document back.
    pub fn from_document(doc: &Document) -> Result<BillingEvent, DocumentError> {
        let text = |field: &'static str| -> Result<String, DocumentError> {
            doc.get_str(field)
                .map(str::to_owned)
                .map_err(|e| DocumentError::new(field, e.to_string()))
        };
        let id = doc
            .get_object_id("_id")
            .map_err(|e| DocumentError::new("_id", e.to_string()))?;
        let ts = doc
            .get_datetime("ts")
            .map_err(|e| DocumentError::new("ts", e.to_string()))?
            .to_chrono();
        let category = Category::parse(&text("category")?)
            .ok_or_else(|| DocumentError::new("category", "is not INFRA or AI"))?;
        let kind = Kind::parse(&text("kind")?)
            .ok_or_else(|| DocumentError::new("kind", "is not a known kind"))?;
        let outcome = Outcome::parse(&text("outcome")?)
            .ok_or_else(|| DocumentError::new("outcome", "is not a known outcome"))?;
        let quantity = match doc.get("quantity") {
            Some(Bson::Double(v)) => *v,
            Some(Bson::Int64(v)) => *v as f64,
            Some(Bson::Int32(v)) => f64::from(*v),
            other => return Err(DocumentError::new("quantity", format!("is {other:?}"))),
        };
        let amount = match doc.get("amount") {
            Some(Bson::Decimal128(d)) => {
                from_decimal128(*d).map_err(|e| DocumentError::new("amount", e.to_string()))?
            }
            other => return Err(DocumentError::new("amount", format!("is {other:?}"))),
        };
        let project_id = match doc.get("projectId") {
            Some(Bson::String(s)) => Some(s.clone()),
            _ => None,
        };
        let empty = Document::new();
        let meta = doc.get_document("metadata").unwrap_or(&empty);
        let opt = |key: &str| meta.get_str(key).ok().map(str::to_owned);
        let list = |key: &str| -> Vec<String> {
            meta.get_array(key)
                .map(|a| {
                    a.iter()
                        .filter_map(|b| b.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        const KNOWN: [&str; 9] = [
            "function_name",
            "qualified_name",
            "module_path",
            "duration_ms",
            "args_types",
            "user",
            "requestId",
            "tags",
            "error",
        ];
        let extra = meta
            .iter()
            .filter(|(k, _)| !KNOWN.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(BillingEvent {
            id,
            ts,
            project_id,
            env: text("env")?,
            username: text("username")?,
            category,
            provider: text("provider")?,
            service: text("service")?,
            resource: text("resource")?,
            kind,
            outcome,
            quantity,
            unit: text("unit")?,
            amount,
            currency: text("currency")?,
            metadata: Metadata {
                function_name: opt("function_name"),
                qualified_name: opt("qualified_name"),
                module_path: opt("module_path"),
                duration_ms: meta.get_f64("duration_ms").ok(),
                args_types: list("args_types"),
                user: opt("user"),
                request_id: opt("requestId"),
                tags: list("tags"),
                error: opt("error"),
                extra,
            },
        })
    }

    /// This event with `ts` truncated to milliseconds, the precision a BSON
    /// date keeps: what [`from_document`](Self::from_document) gives back.
    pub fn clone_with_millis(&self) -> BillingEvent {
        let mut copy = self.clone();
        copy.ts = DateTime::from_timestamp_millis(self.ts.timestamp_millis()).unwrap_or(self.ts);
        copy
    }
}

fn strings(items: Vec<String>) -> Bson {
    Bson::Array(items.into_iter().map(Bson::String).collect())
}

/// Parses an amount given as text (`"0.42"`) exactly.
pub(crate) fn parse_amount(text: &str) -> Option<Decimal> {
    Decimal::from_str(text.trim())
        .or_else(|_| Decimal::from_scientific(text.trim()))
        .ok()
}

/// An `f64` amount as the decimal it was written as: `0.42` becomes exactly
/// `0.42` (the shortest text that reads back as the same float), not
/// `0.419999…`.
pub(crate) fn amount_from_f64(value: f64) -> Option<Decimal> {
    if !value.is_finite() {
        return None;
    }
    parse_amount(&value.to_string())
}
