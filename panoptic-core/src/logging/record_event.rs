//! A slog record of one of the billing kinds, turned into a [`BillingEvent`].
//!
//! Known keys fill the event's fields; any other key goes to `metadata`,
//! with keys MongoDB cannot store as given (`$…`, dots, NUL) rewritten.

use std::fmt;

use bson::Bson;
use bson::oid::ObjectId;
use chrono::Utc;
use slog::{KV, Key, OwnedKVList, Record, Serializer};

use crate::context::Context;
use crate::event::{BillingEvent, Category, Kind, Metadata, Outcome};
use crate::keys::{self, aliases, metadata as meta_keys};
use crate::money::{amount_from_f64, parse_amount};
use crate::naming::canonical_env;
use panoptic_catalog::Provider;

/// Reads who and where a record belongs to (provider, service, username,
/// projectId, env), by the same rules as its event.
pub(crate) fn context_from_record(record: &Record, values: &OwnedKVList) -> Context {
    let reader = EventReader::read(record, values);
    let text = |key: Field| {
        reader.fields[key as usize]
            .as_ref()
            .and_then(Value::to_text)
    };
    Context {
        provider: text(Field::Provider).unwrap_or_default(),
        service: text(Field::Service).unwrap_or_default(),
        username: text(Field::Username).unwrap_or_default(),
        project_id: text(Field::ProjectId),
        env: text(Field::Env).unwrap_or_default(),
    }
}

/// Builds the event for a record of kind `kind`.
pub(crate) fn event_from_record(kind: Kind, record: &Record, values: &OwnedKVList) -> BillingEvent {
    let EventReader { fields, extra } = EventReader::read(record, values);
    let f = |key: Field| fields[key as usize].as_ref();
    let text = |key: Field| f(key).and_then(Value::to_text);

    let provider =
        text(Field::Provider).unwrap_or_else(|| Provider::UserDefined.as_str().to_owned());
    let service = text(Field::Service).unwrap_or_default();
    let category = text(Field::Category)
        .and_then(|c| Category::parse(&c))
        .unwrap_or_else(|| {
            Provider::parse(&provider).map_or(Category::Infra, |p| p.category_of(&service))
        });
    let message = record.msg().to_string();
    let mut metadata = Metadata {
        function_name: text(Field::FunctionName),
        qualified_name: text(Field::QualifiedName),
        module_path: text(Field::ModulePath).or_else(|| Some(record.module().to_owned())),
        duration_ms: f(Field::DurationMs).and_then(Value::to_f64),
        args_types: text(Field::ArgsTypes)
            .map(|t| split_list(&t))
            .unwrap_or_default(),
        user: text(Field::User),
        request_id: text(Field::RequestId),
        tags: text(Field::Tags)
            .map(|t| split_list(&t))
            .unwrap_or_default(),
        error: text(Field::Error),
        extra,
    };
    if !message.is_empty() && text(Field::Resource).is_some() {
        metadata.extra.insert(meta_keys::MESSAGE, message.clone());
    }
    let amount = f(Field::Amount).and_then(Value::to_amount);
    match (amount.is_some(), f(Field::Amount).is_some()) {
        (true, _) => metadata.extra.insert(meta_keys::PRICED_BY, "given"),
        (false, true) => metadata
            .extra
            .insert(meta_keys::UNPRICED, "the `amount` given is not a number"),
        (false, false) => metadata
            .extra
            .insert(meta_keys::UNPRICED, "no amount given"),
    };
    BillingEvent {
        id: ObjectId::new(),
        ts: Utc::now(),
        project_id: text(Field::ProjectId),
        env: canonical_env(&text(Field::Env).unwrap_or_else(|| "dev".to_owned())),
        username: text(Field::Username).unwrap_or_default(),
        category,
        provider,
        service,
        resource: text(Field::Resource).unwrap_or(message),
        kind,
        outcome: text(Field::Outcome)
            .and_then(|o| Outcome::parse(&o))
            .unwrap_or(Outcome::Ok),
        quantity: f(Field::Quantity).and_then(Value::to_f64).unwrap_or(1.0),
        unit: text(Field::Unit).unwrap_or_else(|| "event".to_owned()),
        amount,
        // `eur` and `EUR` are one currency: never two rows of a report.
        currency: text(Field::Currency).map_or_else(
            || "USD".to_owned(),
            |given| panoptic_prices::rates::currency_code(&given).unwrap_or(given),
        ),
        metadata,
    }
}

/// Lists travel through slog as text joined by ` | ` (a separator no Rust
/// type contains); a single item without it is a list of one.
fn split_list(text: &str) -> Vec<String> {
    text.split(" | ")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[derive(Clone, Copy)]
enum Field {
    Provider,
    Service,
    Username,
    ProjectId,
    Env,
    Category,
    Resource,
    Outcome,
    Quantity,
    Unit,
    Amount,
    Currency,
    FunctionName,
    QualifiedName,
    ModulePath,
    DurationMs,
    ArgsTypes,
    User,
    RequestId,
    Tags,
    Error,
}

const FIELD_COUNT: usize = Field::Error as usize + 1;

impl Field {
    fn from_key(key: &str) -> Option<Field> {
        Some(match key {
            keys::PROVIDER => Field::Provider,
            keys::SERVICE => Field::Service,
            keys::USERNAME => Field::Username,
            keys::PROJECT_ID | aliases::PROJECT_ID => Field::ProjectId,
            keys::ENV => Field::Env,
            keys::CATEGORY => Field::Category,
            keys::RESOURCE => Field::Resource,
            keys::OUTCOME => Field::Outcome,
            keys::QUANTITY => Field::Quantity,
            keys::UNIT => Field::Unit,
            keys::AMOUNT => Field::Amount,
            keys::CURRENCY => Field::Currency,
            meta_keys::FUNCTION_NAME => Field::FunctionName,
            meta_keys::QUALIFIED_NAME => Field::QualifiedName,
            meta_keys::MODULE_PATH => Field::ModulePath,
            meta_keys::DURATION_MS => Field::DurationMs,
            meta_keys::ARGS_TYPES => Field::ArgsTypes,
            meta_keys::USER => Field::User,
            meta_keys::REQUEST_ID | aliases::REQUEST_ID => Field::RequestId,
            meta_keys::TAGS => Field::Tags,
            meta_keys::ERROR => Field::Error,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone)]
enum Value {
    Text(String),
    Float(f64),
    Int(i64),
    UInt(u64),
    Bool(bool),
    Null,
}

impl Value {
    /// The value as text; `None` (a logged `None` or `()`) is no value.
    fn to_text(&self) -> Option<String> {
        Some(match self {
            Value::Text(s) => s.clone(),
            Value::Float(v) => v.to_string(),
            Value::Int(v) => v.to_string(),
            Value::UInt(v) => v.to_string(),
            Value::Bool(v) => v.to_string(),
            Value::Null => return None,
        })
    }

    #[allow(clippy::cast_precision_loss)]
    fn to_f64(&self) -> Option<f64> {
        match self {
            Value::Float(v) => Some(*v),
            Value::Int(v) => Some(*v as f64),
            Value::UInt(v) => Some(*v as f64),
            Value::Text(s) => s.trim().parse().ok(),
            Value::Bool(_) | Value::Null => None,
        }
    }

    fn to_amount(&self) -> Option<rust_decimal::Decimal> {
        match self {
            Value::Float(v) => amount_from_f64(*v),
            Value::Int(v) => Some((*v).into()),
            Value::UInt(v) => Some((*v).into()),
            Value::Text(s) => parse_amount(s),
            Value::Bool(_) | Value::Null => None,
        }
    }

    fn into_bson(self) -> Bson {
        match self {
            Value::Text(s) => Bson::String(s),
            Value::Float(v) => Bson::Double(v),
            Value::Int(v) => Bson::Int64(v),
            Value::UInt(v) => i64::try_from(v).map_or(Bson::Double(v as f64), Bson::Int64),
            Value::Bool(v) => Bson::Boolean(v),
            Value::Null => Bson::Null,
        }
    }
}

#[derive(Default)]
struct EventReader {
    fields: [Option<Value>; FIELD_COUNT],
    extra: bson::Document,
}

impl EventReader {
    /// The record's own key-values first, then its logger's, newest first
    /// (slog's order); the first value of each key wins.
    fn read(record: &Record, values: &OwnedKVList) -> EventReader {
        let mut reader = EventReader::default();
        let _ = record.kv().serialize(record, &mut reader);
        let _ = values.serialize(record, &mut reader);
        reader
    }

    fn put(&mut self, key: Key, value: Value) {
        match Field::from_key(key) {
            Some(field) => {
                let slot = &mut self.fields[field as usize];
                if slot.is_none() {
                    *slot = Some(value);
                }
            }
            None => {
                let key = storable_key(key);
                if !self.extra.contains_key(&key) {
                    self.extra.insert(key, value.into_bson());
                }
            }
        }
    }
}

/// A metadata key MongoDB stores as given: no leading `$`, no `.`, no NUL,
/// not empty. Such characters become `_`, so the value is kept, not refused.
pub(crate) fn storable_key(key: &str) -> String {
    let mut out: String = key
        .chars()
        .map(|c| if c == '.' || c == '\0' { '_' } else { c })
        .collect();
    if out.starts_with('$') {
        out.replace_range(0..1, "_");
    }
    if out.is_empty() {
        out.push('_');
    }
    out
}

impl Serializer for EventReader {
    fn emit_arguments(&mut self, key: Key, val: &fmt::Arguments) -> slog::Result {
        self.put(key, Value::Text(val.to_string()));
        Ok(())
    }
    fn emit_str(&mut self, key: Key, val: &str) -> slog::Result {
        self.put(key, Value::Text(val.to_owned()));
        Ok(())
    }
    fn emit_f64(&mut self, key: Key, val: f64) -> slog::Result {
        self.put(key, Value::Float(val));
        Ok(())
    }
    fn emit_f32(&mut self, key: Key, val: f32) -> slog::Result {
        // Widen through text so 0.1f32 stays 0.1.
        let value = val.to_string().parse().unwrap_or(f64::from(val));
        self.put(key, Value::Float(value));
        Ok(())
    }
    fn emit_i64(&mut self, key: Key, val: i64) -> slog::Result {
        self.put(key, Value::Int(val));
        Ok(())
    }
    fn emit_u64(&mut self, key: Key, val: u64) -> slog::Result {
        self.put(key, Value::UInt(val));
        Ok(())
    }
    fn emit_i32(&mut self, key: Key, val: i32) -> slog::Result {
        self.emit_i64(key, val.into())
    }
    fn emit_u32(&mut self, key: Key, val: u32) -> slog::Result {
        self.emit_u64(key, val.into())
    }
    fn emit_i16(&mut self, key: Key, val: i16) -> slog::Result {
        self.emit_i64(key, val.into())
    }
    fn emit_u16(&mut self, key: Key, val: u16) -> slog::Result {
        self.emit_u64(key, val.into())
    }
    fn emit_i8(&mut self, key: Key, val: i8) -> slog::Result {
        self.emit_i64(key, val.into())
    }
    fn emit_u8(&mut self, key: Key, val: u8) -> slog::Result {
        self.emit_u64(key, val.into())
    }
    fn emit_isize(&mut self, key: Key, val: isize) -> slog::Result {
        self.emit_i64(key, val as i64)
    }
    fn emit_usize(&mut self, key: Key, val: usize) -> slog::Result {
        self.emit_u64(key, val as u64)
    }
    fn emit_bool(&mut self, key: Key, val: bool) -> slog::Result {
        self.put(key, Value::Bool(val));
        Ok(())
    }
    fn emit_char(&mut self, key: Key, val: char) -> slog::Result {
        self.put(key, Value::Text(val.to_string()));
        Ok(())
    }
    fn emit_none(&mut self, key: Key) -> slog::Result {
        self.put(key, Value::Null);
        Ok(())
    }
    fn emit_unit(&mut self, key: Key) -> slog::Result {
        self.put(key, Value::Null);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
