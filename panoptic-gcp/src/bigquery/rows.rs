//! Decoding BigQuery's f/v row format with its schema: nulls, nested
//! records (`{"v":{"f":[…]}}`), repeated fields (`{"v":[{"v":…}]}`), and
//! scalars sent as text.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat, Utc};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde_json::Value as Json;

use super::types::{FieldSchema, QueryResult, TableRow, TableSchema};
use crate::rest::Error;

/// A decoded cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// `BOOL`.
    Bool(bool),
    /// `INT64`.
    Int64(i64),
    /// `FLOAT64` (including `NaN` and infinities).
    Float64(f64),
    /// `NUMERIC`, and `BIGNUMERIC` values that fit.
    Numeric(Decimal),
    /// `STRING`, and types kept as text (`GEOGRAPHY`, `INTERVAL`,
    /// `BIGNUMERIC` beyond 28 digits, …).
    String(String),
    /// `BYTES`, base64 as sent.
    Bytes(String),
    /// `TIMESTAMP`.
    Timestamp(DateTime<Utc>),
    /// `DATE`.
    Date(NaiveDate),
    /// `DATETIME`.
    Datetime(NaiveDateTime),
    /// `TIME`.
    Time(NaiveTime),
    /// `JSON`.
    Json(Json),
    /// `RECORD` / `STRUCT`.
    Record(Row),
    /// A `REPEATED` field.
    Array(Vec<Value>),
}

/// A decoded row: values by column, names shared with the schema.
///
/// ```
/// use panoptic_gcp::bigquery::{decode_rows, Value, TableRow, TableSchema};
///
/// let schema: TableSchema = serde_json::from_str(
///     r#"{"fields":[{"name":"word","type":"STRING"},{"name":"n","type":"INTEGER"}]}"#).unwrap();
/// let rows: Vec<TableRow> = serde_json::from_str(r#"[{"f":[{"v":"the"},{"v":"42"}]}]"#).unwrap();
/// let rows = decode_rows(&schema, &rows).unwrap();
/// assert_eq!(rows[0].get("n"), Some(&Value::Int64(42)));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    names: Arc<[String]>,
    values: Vec<Value>,
}

impl Row {
    /// The value of column `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.names
            .iter()
            .position(|n| n == name)
            .and_then(|i| self.values.get(i))
    }

    /// Column names, in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Values, in column order.
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// The row as a JSON object (see [`Value::to_json`]).
    pub fn to_json(&self) -> Json {
        Json::Object(
            self.names
                .iter()
                .cloned()
                .zip(self.values.iter().map(Value::to_json))
                .collect(),
        )
    }

    /// The row as a serde type, by column name.
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, RowError> {
        serde_json::from_value(self.to_json()).map_err(|e| RowError(e.to_string()))
    }
}

impl Value {
    /// JSON for serde: integers and floats as numbers (non-finite floats as
    /// text), `NUMERIC` as text so no digit is lost (deserialize it into a
    /// `Decimal` or `String`), times as RFC 3339 / ISO 8601 text, records
    /// as objects, arrays as arrays.
    pub fn to_json(&self) -> Json {
        match self {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int64(i) => Json::from(*i),
            Value::Float64(f) => serde_json::Number::from_f64(*f)
                .map_or_else(|| Json::String(f.to_string()), Json::Number),
            Value::Numeric(d) => Json::String(d.to_string()),
            Value::String(s) | Value::Bytes(s) => Json::String(s.clone()),
            Value::Timestamp(t) => Json::String(t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
            Value::Date(d) => Json::String(d.to_string()),
            Value::Datetime(d) => Json::String(d.format("%Y-%m-%dT%H:%M:%S%.f").to_string()),
            Value::Time(t) => Json::String(t.to_string()),
            Value::Json(j) => j.clone(),
            Value::Record(r) => r.to_json(),
            Value::Array(items) => Json::Array(items.iter().map(Value::to_json).collect()),
        }
    }
}

/// A cell that does not match its schema, or a row that does not fit a type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RowError(pub String);

/// Decodes `rows` with `schema`.
pub fn decode_rows(schema: &TableSchema, rows: &[TableRow]) -> Result<Vec<Row>, RowError> {
    let decoder = Decoder::new(&schema.fields);
    rows.iter()
        .map(|row| {
            let cells: Vec<&Json> = row.f.iter().map(|c| &c.v).collect();
            decoder.record(&cells)
        })
        .collect()
}

/// Decodes `rows` into serde values by column name.
pub fn deserialize_rows<T: DeserializeOwned>(
    schema: &TableSchema,
    rows: &[TableRow],
) -> Result<Vec<T>, RowError> {
    decode_rows(schema, rows)?
        .iter()
        .map(Row::deserialize)
        .collect()
}

impl QueryResult {
    /// The rows decoded with the schema.
    pub fn decode(&self) -> Result<Vec<Row>, Error> {
        decode_rows(&self.schema, &self.rows).map_err(|e| Error::Rows(e.0))
    }

    /// The rows as serde values, by column name.
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<Vec<T>, Error> {
        deserialize_rows(&self.schema, &self.rows).map_err(|e| Error::Rows(e.0))
    }
}

/// A schema level with its names made once, so rows share them.
struct Decoder<'a> {
    names: Arc<[String]>,
    fields: Vec<(&'a FieldSchema, Option<Decoder<'a>>)>,
}

impl<'a> Decoder<'a> {
    fn new(fields: &'a [FieldSchema]) -> Decoder<'a> {
        Decoder {
            names: fields.iter().map(|f| f.name.clone()).collect(),
            fields: fields
                .iter()
                .map(|f| (f, is_record(f).then(|| Decoder::new(&f.fields))))
                .collect(),
        }
    }

    fn record(&self, cells: &[&Json]) -> Result<Row, RowError> {
        if cells.len() != self.fields.len() {
            return Err(RowError(format!(
                "a row has {} cells for {} columns ({})",
                cells.len(),
                self.fields.len(),
                self.names.join(", ")
            )));
        }
        let values = self
            .fields
            .iter()
            .zip(cells)
            .map(|((field, nested), cell)| self.cell(field, nested.as_ref(), cell))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Row {
            names: Arc::clone(&self.names),
            values,
        })
    }

    fn cell(
        &self,
        field: &FieldSchema,
        nested: Option<&Decoder<'_>>,
        v: &Json,
    ) -> Result<Value, RowError> {
        if field.is_repeated() {
            return match v {
                Json::Null => Ok(Value::Array(Vec::new())),
                Json::Array(items) => items
                    .iter()
                    .map(|item| self.single(field, nested, item.get("v").unwrap_or(&Json::Null)))
                    .collect::<Result<Vec<_>, _>>()
                    .map(Value::Array),
                other => Err(mismatch(field, other)),
            };
        }
        self.single(field, nested, v)
    }

    fn single(
        &self,
        field: &FieldSchema,
        nested: Option<&Decoder<'_>>,
        v: &Json,
    ) -> Result<Value, RowError> {
        if v.is_null() {
            return Ok(Value::Null);
        }
        if let Some(nested) = nested {
            let cells = v
                .get("f")
                .and_then(Json::as_array)
                .ok_or_else(|| mismatch(field, v))?;
            let cells: Vec<&Json> = cells
                .iter()
                .map(|c| c.get("v").unwrap_or(&Json::Null))
                .collect();
            return nested.record(&cells).map(Value::Record);
        }
        let text = match v {
            Json::String(s) => s.as_str(),
            // JSON columns and some fakes send non-text scalars.
            Json::Bool(b) => return Ok(Value::Bool(*b)),
            Json::Number(n) if !matches!(kind(field).as_str(), "JSON") => {
                return scalar(field, &n.to_string());
            }
            other if kind(field) == "JSON" => return Ok(Value::Json(other.clone())),
            other => return Err(mismatch(field, other)),
        };
        scalar(field, text)
    }
}

fn kind(field: &FieldSchema) -> String {
    field.kind.to_ascii_uppercase()
}

fn is_record(field: &FieldSchema) -> bool {
    matches!(kind(field).as_str(), "RECORD" | "STRUCT")
}

fn mismatch(field: &FieldSchema, v: &Json) -> RowError {
    let shown: String = v.to_string().chars().take(60).collect();
    RowError(format!(
        "column `{}` ({}): unexpected cell {shown}",
        field.name, field.kind
    ))
}

fn scalar(field: &FieldSchema, text: &str) -> Result<Value, RowError> {
    let bad = |what: &str| {
        RowError(format!(
            "column `{}` ({}): `{text}` is not {what}",
            field.name, field.kind
        ))
    };
    Ok(match kind(field).as_str() {
        "INTEGER" | "INT64" => Value::Int64(text.parse().map_err(|_| bad("an integer"))?),
        "FLOAT" | "FLOAT64" => Value::Float64(match text {
            "NaN" => f64::NAN,
            "Infinity" => f64::INFINITY,
            "-Infinity" => f64::NEG_INFINITY,
            _ => text.parse().map_err(|_| bad("a float"))?,
        }),
        "BOOLEAN" | "BOOL" => Value::Bool(match text {
            "true" | "TRUE" => true,
            "false" | "FALSE" => false,
            _ => return Err(bad("a boolean")),
        }),
        "NUMERIC" => Value::Numeric(parse_decimal(text).ok_or_else(|| bad("a decimal"))?),
        "BIGNUMERIC" | "BIGDECIMAL" => {
            parse_decimal(text).map_or_else(|| Value::String(text.to_owned()), Value::Numeric)
        }
        "TIMESTAMP" => Value::Timestamp(parse_timestamp(text).ok_or_else(|| bad("a timestamp"))?),
        "DATE" => Value::Date(text.parse().map_err(|_| bad("a date"))?),
        "DATETIME" => Value::Datetime(
            NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
                .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f"))
                .map_err(|_| bad("a datetime"))?,
        ),
        "TIME" => {
            Value::Time(NaiveTime::parse_from_str(text, "%H:%M:%S%.f").map_err(|_| bad("a time"))?)
        }
        "BYTES" => Value::Bytes(text.to_owned()),
        "JSON" => Value::Json(serde_json::from_str(text).map_err(|_| bad("JSON"))?),
        _ => Value::String(text.to_owned()),
    })
}

fn parse_decimal(text: &str) -> Option<Decimal> {
    text.parse::<Decimal>()
        .ok()
        .or_else(|| Decimal::from_scientific(text).ok())
}

/// TIMESTAMP cells come in the form the request asked for
/// (`formatOptions.useInt64Timestamp`, which this client always sets):
/// with it, int64 microseconds since the epoch as text
/// (`"1700000000123456"`); without it, BigQuery's default float seconds
/// (`"1.700000000123456E9"`, always with a `.` or an exponent). An
/// RFC 3339 text is accepted too.
fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    let digits = text.strip_prefix('-').unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return DateTime::from_timestamp_micros(text.parse().ok()?);
    }
    let seconds = parse_decimal(text)?;
    let micros = (seconds * Decimal::from(1_000_000)).round();
    let micros: i64 = micros.try_into().ok()?;
    DateTime::from_timestamp_micros(micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_decode_in_both_api_forms() {
        let at = DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap();
        // useInt64Timestamp: microseconds.
        assert_eq!(parse_timestamp("1700000000123456"), Some(at));
        // Default: float seconds.
        assert_eq!(parse_timestamp("1.700000000123456E9"), Some(at));
        assert_eq!(
            parse_timestamp("1700000000.123456"),
            Some(at),
            "plain decimal seconds"
        );
        assert_eq!(
            parse_timestamp("-1000000"),
            DateTime::from_timestamp(-1, 0),
            "before 1970, in microseconds"
        );
        assert_eq!(parse_timestamp("2023-11-14T22:13:20.123456Z"), Some(at));
        assert_eq!(parse_timestamp("soon"), None);
    }
    use serde::Deserialize;

    fn schema(json: &str) -> TableSchema {
        serde_json::from_str(json).unwrap()
    }

    fn rows(json: &str) -> Vec<TableRow> {
        serde_json::from_str(json).unwrap()
    }

    const NESTED_SCHEMA: &str = r#"{"fields":[
        {"name":"id","type":"INTEGER","mode":"REQUIRED"},
        {"name":"name","type":"STRING","mode":"NULLABLE"},
        {"name":"score","type":"FLOAT","mode":"NULLABLE"},
        {"name":"cost","type":"NUMERIC","mode":"NULLABLE"},
        {"name":"at","type":"TIMESTAMP","mode":"NULLABLE"},
        {"name":"day","type":"DATE","mode":"NULLABLE"},
        {"name":"ok","type":"BOOLEAN","mode":"NULLABLE"},
        {"name":"tags","type":"STRING","mode":"REPEATED"},
        {"name":"owner","type":"RECORD","mode":"NULLABLE","fields":[
            {"name":"email","type":"STRING"},
            {"name":"teams","type":"RECORD","mode":"REPEATED","fields":[{"name":"team","type":"STRING"},{"name":"size","type":"INT64"}]}
        ]}
    ]}"#;

    const NESTED_ROWS: &str = r#"[
        {"f":[{"v":"1"},{"v":"alpha"},{"v":"2.5"},{"v":"123.4567890123456789"},{"v":"1.7E9"},{"v":"2026-11-26"},{"v":"true"},
              {"v":[{"v":"a"},{"v":"b"}]},
              {"v":{"f":[{"v":"ann@example.com"},{"v":[{"v":{"f":[{"v":"infra"},{"v":"4"}]}}]}]}}]},
        {"f":[{"v":"2"},{"v":null},{"v":null},{"v":null},{"v":null},{"v":null},{"v":null},{"v":[]},{"v":null}]}
    ]"#;

    #[test]
    fn nested_repeated_and_null_cells_decode() {
        let decoded = decode_rows(&schema(NESTED_SCHEMA), &rows(NESTED_ROWS)).unwrap();
        let first = &decoded[0];
        assert_eq!(first.get("id"), Some(&Value::Int64(1)));
        assert_eq!(first.get("score"), Some(&Value::Float64(2.5)));
        assert_eq!(
            first.get("cost"),
            Some(&Value::Numeric("123.4567890123456789".parse().unwrap()))
        );
        assert_eq!(
            first.get("at"),
            Some(&Value::Timestamp(
                DateTime::from_timestamp(1_700_000_000, 0).unwrap()
            ))
        );
        assert_eq!(
            first.get("tags"),
            Some(&Value::Array(vec![
                Value::String("a".into()),
                Value::String("b".into())
            ]))
        );
        let Some(Value::Record(owner)) = first.get("owner") else {
            panic!("owner: {:?}", first.get("owner"));
        };
        assert_eq!(
            owner.get("email"),
            Some(&Value::String("ann@example.com".into()))
        );
        let Some(Value::Array(teams)) = owner.get("teams") else {
            panic!("teams");
        };
        let Value::Record(team) = &teams[0] else {
            panic!("team")
        };
        assert_eq!(team.get("size"), Some(&Value::Int64(4)));

        let second = &decoded[1];
        assert_eq!(second.get("name"), Some(&Value::Null));
        assert_eq!(second.get("owner"), Some(&Value::Null));
        assert_eq!(second.get("tags"), Some(&Value::Array(vec![])));
    }

    #[test]
    fn rows_deserialize_into_serde_types() {
        #[derive(Debug, Deserialize, PartialEq)]
        struct Team {
            team: String,
            size: i64,
        }
        #[derive(Debug, Deserialize, PartialEq)]
        struct Owner {
            email: String,
            teams: Vec<Team>,
        }
        #[derive(Debug, Deserialize, PartialEq)]
        struct Item {
            id: u32,
            name: Option<String>,
            cost: Option<Decimal>,
            at: Option<DateTime<Utc>>,
            day: Option<NaiveDate>,
            tags: Vec<String>,
            owner: Option<Owner>,
        }
        let items: Vec<Item> =
            deserialize_rows(&schema(NESTED_SCHEMA), &rows(NESTED_ROWS)).unwrap();
        assert_eq!(items[0].cost, Some("123.4567890123456789".parse().unwrap()));
        assert_eq!(
            items[0].day,
            Some(NaiveDate::from_ymd_opt(2026, 11, 26).unwrap())
        );
        assert_eq!(
            items[0].owner.as_ref().unwrap().teams[0],
            Team {
                team: "infra".into(),
                size: 4
            }
        );
        assert_eq!(
            items[1],
            Item {
                id: 2,
                name: None,
                cost: None,
                at: None,
                day: None,
                tags: vec![],
                owner: None
            }
        );
    }

    #[test]
    fn mismatched_cells_are_errors_not_panics() {
        let s = schema(r#"{"fields":[{"name":"n","type":"INTEGER"}]}"#);
        let err = decode_rows(&s, &rows(r#"[{"f":[{"v":"x1"}]}]"#)).unwrap_err();
        assert!(err.0.contains("`n`"), "{err}");
        assert!(decode_rows(&s, &rows(r#"[{"f":[]}]"#)).is_err());
        let r = schema(
            r#"{"fields":[{"name":"r","type":"RECORD","fields":[{"name":"a","type":"STRING"}]}]}"#,
        );
        assert!(decode_rows(&r, &rows(r#"[{"f":[{"v":"flat"}]}]"#)).is_err());
    }
}
