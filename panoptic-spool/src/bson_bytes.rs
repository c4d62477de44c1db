//! BSON written straight into a byte buffer: the element writers behind the
//! writer's event documents and the spool's records. An event is encoded
//! once, with no intermediate `bson::Document` (whose many small
//! allocations were most of the writer's CPU).

use bson::{Bson, Document, RawDocumentBuf};

/// Starts a BSON document in `out`; returns where, for [`end_document`].
pub fn begin_document(out: &mut Vec<u8>) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    start
}

/// Closes the document begun at `start`; returns its length.
pub fn end_document(out: &mut Vec<u8>, start: usize) -> Result<usize, String> {
    out.push(0);
    let length = out.len() - start;
    let declared = i32::try_from(length).map_err(|_| "document too large for BSON".to_owned())?;
    out[start..start + 4].copy_from_slice(&declared.to_le_bytes());
    Ok(length)
}

/// Keys are ours and fixed, or checked by the caller; none contains a NUL.
pub fn put_key(out: &mut Vec<u8>, kind: u8, key: &str) {
    debug_assert!(!key.contains('\0'));
    out.push(kind);
    out.extend_from_slice(key.as_bytes());
    out.push(0);
}

/// Appends a string element.
pub fn put_str(out: &mut Vec<u8>, key: &str, value: &str) -> Result<(), String> {
    let length = i32::try_from(value.len() + 1).map_err(|_| format!("{key} is too long"))?;
    put_key(out, 0x02, key);
    out.extend_from_slice(&length.to_le_bytes());
    out.extend_from_slice(value.as_bytes());
    out.push(0);
    Ok(())
}

/// Appends a double element.
pub fn put_f64(out: &mut Vec<u8>, key: &str, value: f64) {
    put_key(out, 0x01, key);
    out.extend_from_slice(&value.to_le_bytes());
}

/// Appends a UTC datetime element (milliseconds since the epoch).
pub fn put_datetime(out: &mut Vec<u8>, key: &str, millis: i64) {
    put_key(out, 0x09, key);
    out.extend_from_slice(&millis.to_le_bytes());
}

/// Appends an ObjectId element.
pub fn put_object_id(out: &mut Vec<u8>, key: &str, id: bson::oid::ObjectId) {
    put_key(out, 0x07, key);
    out.extend_from_slice(&id.bytes());
}

/// Appends a null element.
pub fn put_null(out: &mut Vec<u8>, key: &str) {
    put_key(out, 0x0A, key);
}

/// Appends a Decimal128 element.
pub fn put_decimal128(out: &mut Vec<u8>, key: &str, value: bson::Decimal128) {
    put_key(out, 0x13, key);
    out.extend_from_slice(&value.bytes());
}

/// Appends an array of strings.
pub fn put_str_array(out: &mut Vec<u8>, key: &str, values: &[&str]) -> Result<(), String> {
    put_key(out, 0x04, key);
    let start = begin_document(out);
    let mut index = itoa_buffer();
    for (i, value) in values.iter().enumerate() {
        put_str(out, index.format(i), value)?;
    }
    end_document(out, start).map(drop)
}

/// Appends the elements of a document, not its length or final NUL: the
/// same bytes `Document::to_writer` makes of them, without its serializer
/// (which cost the writer half its CPU per event). Fails on a key with a
/// NUL, which BSON cannot hold.
pub fn put_elements<'a, K: AsRef<str>>(
    out: &mut Vec<u8>,
    elements: impl IntoIterator<Item = (K, &'a Bson)>,
) -> Result<(), String> {
    for (key, value) in elements {
        put_bson(out, key.as_ref(), value)?;
    }
    Ok(())
}

/// Appends one element of any BSON type.
fn put_bson(out: &mut Vec<u8>, key: &str, value: &Bson) -> Result<(), String> {
    if key.contains('\0') {
        return Err(format!("the key {key:?} contains a NUL byte"));
    }
    match value {
        Bson::Double(v) => put_f64(out, key, *v),
        Bson::String(v) => put_str(out, key, v)?,
        Bson::Document(inner) => {
            put_key(out, 0x03, key);
            let start = begin_document(out);
            put_elements(out, inner)?;
            end_document(out, start)?;
        }
        Bson::Array(items) => {
            put_key(out, 0x04, key);
            let start = begin_document(out);
            let mut index = itoa_buffer();
            for (i, item) in items.iter().enumerate() {
                put_bson(out, index.format(i), item)?;
            }
            end_document(out, start)?;
        }
        Bson::Boolean(v) => {
            put_key(out, 0x08, key);
            out.push(u8::from(*v));
        }
        Bson::Null => put_null(out, key),
        Bson::Int32(v) => {
            put_key(out, 0x10, key);
            out.extend_from_slice(&v.to_le_bytes());
        }
        Bson::Int64(v) => {
            put_key(out, 0x12, key);
            out.extend_from_slice(&v.to_le_bytes());
        }
        Bson::ObjectId(id) => put_object_id(out, key, *id),
        Bson::DateTime(at) => put_datetime(out, key, at.timestamp_millis()),
        Bson::Decimal128(v) => put_decimal128(out, key, *v),
        other => put_through_serializer(out, key, other)?,
    }
    Ok(())
}

/// The types metadata rarely holds (binary, regex, timestamps, …), through
/// the bson crate's serializer.
fn put_through_serializer(out: &mut Vec<u8>, key: &str, value: &Bson) -> Result<(), String> {
    let mut one = Document::new();
    one.insert(key, value.clone());
    let mut bytes = Vec::new();
    one.to_writer(&mut bytes).map_err(|e| e.to_string())?;
    // Its element, without the document's length and final NUL.
    out.extend_from_slice(&bytes[4..bytes.len() - 1]);
    Ok(())
}

/// Array keys ("0", "1", …) without a `String` per element.
struct IndexKey(String);

fn itoa_buffer() -> IndexKey {
    IndexKey(String::with_capacity(4))
}

impl IndexKey {
    fn format(&mut self, index: usize) -> &str {
        use std::fmt::Write;
        self.0.clear();
        let _ = write!(self.0, "{index}");
        &self.0
    }
}

/// A document that can write its BSON bytes: a built `Document`
/// (serialized) or one already encoded (copied).
pub trait WriteBson {
    /// Appends the document's bytes to `out`; an error says why it cannot.
    fn write_bson(&self, out: &mut Vec<u8>) -> Result<(), String>;
}

impl WriteBson for Document {
    fn write_bson(&self, out: &mut Vec<u8>) -> Result<(), String> {
        self.to_writer(&mut *out).map_err(|e| e.to_string())
    }
}

impl WriteBson for RawDocumentBuf {
    fn write_bson(&self, out: &mut Vec<u8>) -> Result<(), String> {
        out.extend_from_slice(self.as_bytes());
        Ok(())
    }
}

/// Appends an embedded document element.
pub fn put_document(out: &mut Vec<u8>, key: &str, value: &impl WriteBson) -> Result<(), String> {
    put_key(out, 0x03, key);
    value.write_bson(out)
}

#[cfg(test)]
mod tests;
