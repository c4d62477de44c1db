//! The bytes on disk: segment magics, record framing and the small BSON
//! wrappers (spool record, dead letter) written by hand so that an event is
//! serialized once, straight into the output buffer, without being cloned.

#[cfg(test)]
use bson::Document;
use bson::{RawBsonRef, RawDocument};

use crate::bson_bytes::WriteBson;
pub(super) use crate::bson_bytes::{begin_document, end_document, put_document, put_str};
use crate::bson_check::is_well_formed;

use super::SpooledEvent;

/// First bytes of a segment in today's format.
pub(super) const MAGIC_V2: &[u8; 8] = b"PANSPL02";
/// First bytes of a segment written before the sync marker existed.
pub(super) const MAGIC_V1: &[u8; 8] = b"PANSPL01";
/// Length of either magic.
pub(super) const MAGIC_LEN: usize = 8;

/// Starts every v2 record, so that a reader that lost its place finds the
/// next record. `0xFF` and `0xFE` never occur in UTF-8, so no string in an
/// event (and no BSON key) can contain the marker; numbers and binary data
/// can, which is why a marker is only a candidate until its checksum holds.
pub(super) const SYNC: [u8; 4] = [0xFF, b'P', b'S', 0xFE];
/// `[sync][length][crc32]`.
pub(super) const HEADER_V2: usize = 12;
/// `[length][crc32]`.
pub(super) const HEADER_V1: usize = 8;

/// The largest payload a reader accepts and a writer produces: MongoDB's
/// 16 MiB document plus room for the `{d, c, e}` wrapper. A longer length
/// field is corruption, not an event.
pub const MAX_RECORD: usize = 16 * 1024 * 1024 + 64 * 1024;
/// The smallest BSON document (`{}`): a length and the terminating NUL.
pub(super) const MIN_BSON: usize = 5;

/// Appends one v2 record `[sync][length][crc32 of length + payload][payload]`
/// to `out`, payload `{d: database, c: collection, e: document}`. On error
/// (the event cannot be serialized, or its record would be larger than
/// [`MAX_RECORD`]) `out` is left as it was and the reason returned.
pub(super) fn encode_v2(
    database: &str,
    collection: &str,
    document: &impl WriteBson,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    let start = out.len();
    let result = (|| {
        out.extend_from_slice(&SYNC);
        out.extend_from_slice(&[0; 8]);
        let payload_start = out.len();
        let bson = begin_document(out);
        put_str(out, "d", database)?;
        put_str(out, "c", collection)?;
        put_document(out, "e", document)?;
        let length = end_document(out, bson)?;
        if length > MAX_RECORD {
            return Err(format!(
                "its spool record would be {length} bytes, over the {MAX_RECORD}-byte limit \
                 (MongoDB's 16 MiB document and the record's wrapper)"
            ));
        }
        let length = u32::try_from(length).map_err(|e| e.to_string())?;
        let mut crc = crc32fast::Hasher::new();
        crc.update(&length.to_le_bytes());
        crc.update(&out[payload_start..]);
        let crc = crc.finalize();
        out[start + 4..start + 8].copy_from_slice(&length.to_le_bytes());
        out[start + 8..start + 12].copy_from_slice(&crc.to_le_bytes());
        Ok(())
    })();
    if result.is_err() {
        out.truncate(start);
    }
    result
}

/// The event in a record's payload, or `None` when the payload is not a
/// well-formed `{d: string, c: string, e: document}`. The document is
/// kept as the bytes it was written as (replay sends them unchanged),
/// after every element of it has been read once.
pub(super) fn decode_payload(payload: &[u8]) -> Option<SpooledEvent> {
    if declared_length(payload) != Some(payload.len()) {
        return None;
    }
    let record = RawDocument::from_bytes(payload).ok()?;
    let (mut database, mut collection, mut document) = (None, None, None);
    for element in record {
        match element.ok()? {
            ("d", RawBsonRef::String(name)) => database = Some(name),
            ("c", RawBsonRef::String(name)) => collection = Some(name),
            ("e", RawBsonRef::Document(event)) => document = Some(event),
            _ => {}
        }
    }
    let document = document.filter(|d| is_well_formed(d.as_bytes()))?;
    Some(SpooledEvent {
        database: database?.to_owned(),
        collection: collection?.to_owned(),
        document: document.to_raw_document_buf(),
    })
}

/// The length a BSON document claims for itself (its first four bytes),
/// checked against the smallest possible document.
pub(super) fn declared_length(bytes: &[u8]) -> Option<usize> {
    let length = i32::from_le_bytes(bytes.get(..4)?.try_into().ok()?);
    usize::try_from(length).ok().filter(|&n| n >= MIN_BSON)
}

/// The v1 encoder, kept to write test segments in the old format:
/// `[length][crc32 of payload][payload]`, no marker.
#[cfg(test)]
pub(super) fn encode_v1(
    database: &str,
    collection: &str,
    document: &Document,
    out: &mut Vec<u8>,
) -> std::io::Result<()> {
    let record = bson::doc! { "d": database, "c": collection, "e": document };
    let start = out.len();
    out.extend_from_slice(&[0; 8]);
    record.to_writer(&mut *out).map_err(std::io::Error::other)?;
    let payload = &out[start + 8..];
    let length =
        u32::try_from(payload.len()).map_err(|_| std::io::Error::other("event too large"))?;
    let checksum = crc32fast::hash(payload);
    out[start..start + 4].copy_from_slice(&length.to_le_bytes());
    out[start + 4..start + 8].copy_from_slice(&checksum.to_le_bytes());
    Ok(())
}
