//! The billing event: one document in MongoDB per billed call or charge.

use std::fmt;

use bson::oid::ObjectId;
use bson::{Bson, Document};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::keys::{self, metadata as meta_keys};
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
    /// Not run: its budget could not cover the reservation.
    Refused,
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
            Outcome::Refused => "refused",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<Outcome> {
        [
            Outcome::Ok,
            Outcome::Error,
            Outcome::Panic,
            Outcome::Cancelled,
            Outcome::Refused,
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

/// One billing event, as stored. The field names in MongoDB are in
/// [`keys`](crate::keys); see [`BillingEvent::to_document`].
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
    /// What it cost, in `currency`, at list price. Stored as Decimal128;
    /// `None` (no `amount` field) when the call could not be priced:
    /// `metadata.unpriced` then says why. Never a silent zero.
    pub amount: Option<Decimal>,
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
    /// Any other key logged with the record. Pricing lives here too, under
    /// the keys of [`keys::metadata`](crate::keys::metadata): `price`,
    /// `usage`, `unpriced`, `estimated`, `priced_by` (see the accessors).
    pub extra: Document,
}

impl Metadata {
    /// Why the event has no amount, when it has none.
    pub fn unpriced(&self) -> Option<&str> {
        self.extra.get_str(meta_keys::UNPRICED).ok()
    }

    /// The prices the amount was computed with (`metadata.price`).
    pub fn price(&self) -> Option<&Document> {
        self.extra.get_document(meta_keys::PRICE).ok()
    }

    /// What the call used, as the provider reported it (`metadata.usage`).
    pub fn usage(&self) -> Option<&Document> {
        self.extra.get_document(meta_keys::USAGE).ok()
    }

    /// Who set the amount: `price_book`, `given` (an `amount` key), or a
    /// provider crate's calculator.
    pub fn priced_by(&self) -> Option<&str> {
        self.extra.get_str(meta_keys::PRICED_BY).ok()
    }

    /// Whether some figure is an estimate (a stream cut short).
    pub fn is_estimated(&self) -> bool {
        self.extra.get_bool(meta_keys::ESTIMATED).unwrap_or(false)
    }
}

/// A stored document that is not a valid [`BillingEvent`].
#[derive(Debug, thiserror::Error)]
#[error("document is not a billing event: field `{field}` {problem}")]
pub struct DocumentError {
    field: &'static str,
    problem: String,
}

impl DocumentError {
    pub(crate) fn new(field: &'static str, problem: impl Into<String>) -> Self {
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
    ///     amount: Some("0.42".parse().unwrap()),
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
        put(meta_keys::FUNCTION_NAME, m.function_name.map(Bson::String));
        put(
            meta_keys::QUALIFIED_NAME,
            m.qualified_name.map(Bson::String),
        );
        put(meta_keys::MODULE_PATH, m.module_path.map(Bson::String));
        put(meta_keys::DURATION_MS, m.duration_ms.map(Bson::Double));
        put(meta_keys::ARGS_TYPES, Some(strings(m.args_types)));
        put(meta_keys::USER, m.user.map(Bson::String));
        put(meta_keys::REQUEST_ID, m.request_id.map(Bson::String));
        put(meta_keys::TAGS, Some(strings(m.tags)));
        put(meta_keys::ERROR, m.error.map(Bson::String));
        for (key, value) in m.extra {
            if !metadata.contains_key(&key) {
                metadata.insert(key, value);
            }
        }
        let mut document = Document::new();
        document.insert(keys::ID, self.id);
        document.insert(keys::TS, bson::DateTime::from_chrono(self.ts));
        document.insert(
            keys::PROJECT_ID,
            self.project_id.map_or(Bson::Null, Bson::String),
        );
        document.insert(keys::ENV, self.env);
        document.insert(keys::USERNAME, self.username);
        document.insert(keys::CATEGORY, self.category.as_str());
        document.insert(keys::PROVIDER, self.provider);
        document.insert(keys::SERVICE, self.service);
        document.insert(keys::RESOURCE, self.resource);
        document.insert(keys::KIND, self.kind.as_str());
        document.insert(keys::OUTCOME, self.outcome.as_str());
        document.insert(keys::QUANTITY, self.quantity);
        document.insert(keys::UNIT, self.unit);
        if let Some(amount) = self.amount {
            document.insert(keys::AMOUNT, to_decimal128(amount));
        }
        document.insert(keys::CURRENCY, self.currency);
        document.insert(keys::METADATA, metadata);
        document
    }

    /// Reads a stored document back.
    pub fn from_document(doc: &Document) -> Result<BillingEvent, DocumentError> {
        let text = |field: &'static str| -> Result<String, DocumentError> {
            doc.get_str(field)
                .map(str::to_owned)
                .map_err(|e| DocumentError::new(field, e.to_string()))
        };
        let id = doc
            .get_object_id(keys::ID)
            .map_err(|e| DocumentError::new(keys::ID, e.to_string()))?;
        let ts = doc
            .get_datetime(keys::TS)
            .map_err(|e| DocumentError::new(keys::TS, e.to_string()))?
            .to_chrono();
        let category = Category::parse(&text(keys::CATEGORY)?)
            .ok_or_else(|| DocumentError::new(keys::CATEGORY, "is not INFRA or AI"))?;
        let kind = Kind::parse(&text(keys::KIND)?)
            .ok_or_else(|| DocumentError::new(keys::KIND, "is not a known kind"))?;
        let outcome = Outcome::parse(&text(keys::OUTCOME)?)
            .ok_or_else(|| DocumentError::new(keys::OUTCOME, "is not a known outcome"))?;
        let quantity = match doc.get(keys::QUANTITY) {
            Some(Bson::Double(v)) => *v,
            Some(Bson::Int64(v)) => *v as f64,
            Some(Bson::Int32(v)) => f64::from(*v),
            other => return Err(DocumentError::new(keys::QUANTITY, format!("is {other:?}"))),
        };
        let amount = match doc.get(keys::AMOUNT) {
            Some(Bson::Decimal128(d)) => Some(
                from_decimal128(*d).map_err(|e| DocumentError::new(keys::AMOUNT, e.to_string()))?,
            ),
            None | Some(Bson::Null) => None,
            other => return Err(DocumentError::new(keys::AMOUNT, format!("is {other:?}"))),
        };
        let project_id = match doc.get(keys::PROJECT_ID) {
            Some(Bson::String(s)) => Some(s.clone()),
            _ => None,
        };
        let empty = Document::new();
        let meta = doc.get_document(keys::METADATA).unwrap_or(&empty);
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
        let extra = meta
            .iter()
            .filter(|(k, _)| !meta_keys::KNOWN.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(BillingEvent {
            id,
            ts,
            project_id,
            env: text(keys::ENV)?,
            username: text(keys::USERNAME)?,
            category,
            provider: text(keys::PROVIDER)?,
            service: text(keys::SERVICE)?,
            resource: text(keys::RESOURCE)?,
            kind,
            outcome,
            quantity,
            unit: text(keys::UNIT)?,
            amount,
            currency: text(keys::CURRENCY)?,
            metadata: Metadata {
                function_name: opt(meta_keys::FUNCTION_NAME),
                qualified_name: opt(meta_keys::QUALIFIED_NAME),
                module_path: opt(meta_keys::MODULE_PATH),
                duration_ms: meta.get_f64(meta_keys::DURATION_MS).ok(),
                args_types: list(meta_keys::ARGS_TYPES),
                user: opt(meta_keys::USER),
                request_id: opt(meta_keys::REQUEST_ID),
                tags: list(meta_keys::TAGS),
                error: opt(meta_keys::ERROR),
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

/// The event a spooled record holds: what reports read from the spool.
///
/// ```no_run
/// use panoptic_core::{BillingEvent, Spool};
/// for waiting in Spool::open(".panoptic/spool").events()? {
///     let event = BillingEvent::try_from(&waiting).expect("a billing event");
///     println!("{}.{}: {}", waiting.database, waiting.collection, event.resource);
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
impl TryFrom<&panoptic_spool::SpooledEvent> for BillingEvent {
    type Error = DocumentError;

    fn try_from(spooled: &panoptic_spool::SpooledEvent) -> Result<BillingEvent, DocumentError> {
        let document = spooled
            .to_document()
            .map_err(|error| DocumentError::new("document", format!("cannot be read: {error}")))?;
        BillingEvent::from_document(&document)
    }
}
