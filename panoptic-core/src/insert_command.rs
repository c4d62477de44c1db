//! The `insert` command written from the events' own BSON bytes, and its
//! reply read back.
//!
//! The driver's `insert_many` serializes every document again through
//! serde, looks for its `_id`, and keeps the ids in a hash map for its
//! result: about 3,500 instructions per event on the writer (callgrind),
//! more than encoding the event costs. Our documents are BSON already, each
//! with its `_id`, so the command is their bytes one after another, and of
//! the reply only the write errors are read.

use bson::{Bson, Document, RawDocument, RawDocumentBuf};

use crate::bson_bytes::{begin_document, end_document, index_key, put_key, put_str};

/// The largest command document a server takes is `maxBsonObjectSize`
/// (16 MiB) plus 16 KiB; a batch that would not fit goes through the
/// driver, which splits it.
const MAX_COMMAND_BYTES: usize = 16 * 1024 * 1024;

/// `maxWriteBatchSize` since MongoDB 3.6.
const MAX_DOCUMENTS: usize = 100_000;

/// Room for the command's own fields besides its documents.
const ENVELOPE_BYTES: usize = 1024;

/// `{insert: collection, documents: [...], ordered: false, writeConcern}`,
/// or `None` when the batch does not fit one command.
pub(crate) fn build(
    collection: &str,
    documents: &[RawDocumentBuf],
    write_concern: &RawDocument,
) -> Option<RawDocumentBuf> {
    if documents.len() > MAX_DOCUMENTS {
        return None;
    }
    // Each array element adds its type byte, its index and a NUL.
    let payload: usize = documents.iter().map(|d| d.as_bytes().len() + 8).sum();
    let size = payload + collection.len() + write_concern.as_bytes().len() + ENVELOPE_BYTES;
    if size > MAX_COMMAND_BYTES {
        return None;
    }
    let mut out = Vec::with_capacity(size);
    let start = begin_document(&mut out);
    put_str(&mut out, "insert", collection).ok()?;
    put_key(&mut out, 0x04, "documents");
    let array = begin_document(&mut out);
    let mut key = index_key();
    for (i, document) in documents.iter().enumerate() {
        put_key(&mut out, 0x03, key.format(i));
        out.extend_from_slice(document.as_bytes());
    }
    end_document(&mut out, array).ok()?;
    put_key(&mut out, 0x08, "ordered");
    out.push(0);
    put_key(&mut out, 0x03, "writeConcern");
    out.extend_from_slice(write_concern.as_bytes());
    end_document(&mut out, start).ok()?;
    RawDocumentBuf::from_bytes(out).ok()
}

/// What an `insert` reply (`ok: 1`) says went wrong, document by document.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct InsertReply {
    /// `(index in the batch, code, message)` for each refused document.
    pub write_errors: Vec<(usize, i32, String)>,
    /// Written, but not as durably as asked: `(code, message)`.
    pub write_concern_error: Option<(i32, String)>,
}

/// Reads `writeErrors` and `writeConcernError`; an error when the reply is
/// not shaped as the server reference says (then nothing is known).
pub(crate) fn read_reply(reply: &Document, count: usize) -> Result<InsertReply, String> {
    let malformed = |what: &str| format!("unreadable insert reply ({what}): {reply}");
    let mut read = InsertReply::default();
    if let Some(errors) = reply.get("writeErrors") {
        let Bson::Array(errors) = errors else {
            return Err(malformed("writeErrors is not an array"));
        };
        for error in errors {
            let Bson::Document(error) = error else {
                return Err(malformed("a write error is not a document"));
            };
            let index = integer(error.get("index"))
                .and_then(|i| usize::try_from(i).ok())
                .filter(|&i| i < count)
                .ok_or_else(|| malformed("a write error's index"))?;
            let code = integer(error.get("code"))
                .and_then(|c| i32::try_from(c).ok())
                .ok_or_else(|| malformed("a write error's code"))?;
            let message = error.get_str("errmsg").unwrap_or_default().to_owned();
            read.write_errors.push((index, code, message));
        }
    }
    if let Some(concern) = reply.get("writeConcernError") {
        let Bson::Document(concern) = concern else {
            return Err(malformed("writeConcernError is not a document"));
        };
        let code = integer(concern.get("code"))
            .and_then(|c| i32::try_from(c).ok())
            .unwrap_or_default();
        let message = concern.get_str("errmsg").unwrap_or_default().to_owned();
        read.write_concern_error = Some((code, message));
    }
    Ok(read)
}

/// Servers send numbers as int32, int64 or double.
fn integer(value: Option<&Bson>) -> Option<i64> {
    match value? {
        Bson::Int32(n) => Some(i64::from(*n)),
        Bson::Int64(n) => Some(*n),
        Bson::Double(n) if n.fract() == 0.0 => Some(*n as i64),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::{doc, rawdoc};

    fn events(n: usize) -> Vec<RawDocumentBuf> {
        (0..n)
            .map(|i| rawdoc! { "_id": i as i64, "resource": format!("f{i}") })
            .collect()
    }

    #[test]
    fn the_command_holds_each_document_as_sent_and_the_options() {
        let documents = events(12);
        let concern = rawdoc! { "w": 1, "j": true };
        let command = build("aws_ann", &documents, &concern).expect("fits");
        let command = command.to_document().expect("valid BSON");
        let sent: Vec<Document> = documents.iter().map(|d| d.to_document().unwrap()).collect();
        assert_eq!(
            command,
            doc! {
                "insert": "aws_ann",
                "documents": sent,
                "ordered": false,
                "writeConcern": { "w": 1, "j": true },
            }
        );
    }

    #[test]
    fn a_batch_beyond_one_command_is_left_to_the_driver() {
        let concern = rawdoc! {};
        let big = rawdoc! { "blob": "x".repeat(1 << 20) };
        assert!(build("c", &vec![big.clone(); 15], &concern).is_some());
        assert!(build("c", &vec![big; 16], &concern).is_none());
        assert!(build("c", &events(MAX_DOCUMENTS + 1), &concern).is_none());
    }

    #[test]
    fn the_reply_gives_each_refused_document_and_the_concern() {
        let reply = doc! {
            "n": 1,
            "writeErrors": [
                { "index": 0, "code": 11000, "errmsg": "E11000 duplicate key error index: _id_ dup key" },
                { "index": 2_i64, "code": 121, "errmsg": "Document failed validation" },
            ],
            "writeConcernError": { "code": 64, "errmsg": "waiting for replication timed out" },
            "ok": 1.0,
        };
        let read = read_reply(&reply, 3).unwrap();
        assert_eq!(
            read.write_errors,
            vec![
                (
                    0,
                    11000,
                    "E11000 duplicate key error index: _id_ dup key".to_owned()
                ),
                (2, 121, "Document failed validation".to_owned()),
            ]
        );
        assert_eq!(
            read.write_concern_error,
            Some((64, "waiting for replication timed out".to_owned()))
        );
        assert_eq!(
            read_reply(&doc! { "n": 3, "ok": 1 }, 3).unwrap(),
            InsertReply::default()
        );
    }

    #[test]
    fn a_reply_out_of_shape_is_an_error_not_a_success() {
        for reply in [
            doc! { "writeErrors": "no", "ok": 1 },
            doc! { "writeErrors": [ { "code": 11000 } ], "ok": 1 },
            doc! { "writeErrors": [ { "index": 5, "code": 11000 } ], "ok": 1 },
            doc! { "writeErrors": [ { "index": 0, "code": "x" } ], "ok": 1 },
            doc! { "writeConcernError": 1, "ok": 1 },
        ] {
            assert!(read_reply(&reply, 3).is_err(), "{reply}");
        }
    }
}
