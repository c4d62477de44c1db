use super::*;
use bson::spec::BinarySubtype;
use bson::{Binary, Bson, JavaScriptCodeWithScope, Regex, Timestamp, doc, oid::ObjectId};

fn every_type() -> bson::Document {
    doc! {
        "double": 1.5,
        "string": "text é",
        "document": { "inner": { "deeper": [1, "two", { "three": 3 }] } },
        "array": [true, false, Bson::Null],
        "binary": Binary { subtype: BinarySubtype::Generic, bytes: vec![1, 2, 3] },
        "undefined": Bson::Undefined,
        "object_id": ObjectId::new(),
        "bool": true,
        "datetime": bson::DateTime::now(),
        "null": Bson::Null,
        "regex": Regex { pattern: "a+".into(), options: "i".into() },
        "code": Bson::JavaScriptCode("f()".into()),
        "symbol": Bson::Symbol("s".into()),
        "code_with_scope": JavaScriptCodeWithScope { code: "g()".into(), scope: doc! { "x": 1 } },
        "int32": 7,
        "timestamp": Timestamp { time: 1, increment: 2 },
        "int64": 8i64,
        "decimal": "1.25".parse::<bson::Decimal128>().unwrap(),
        "min": Bson::MinKey,
        "max": Bson::MaxKey,
        "empty": {},
        "": "empty key",
    }
}

fn bytes_of(document: &bson::Document) -> Vec<u8> {
    let mut out = Vec::new();
    document.to_writer(&mut out).unwrap();
    out
}

#[test]
fn what_the_bson_crate_writes_is_well_formed() {
    assert!(is_well_formed(&bytes_of(&every_type())));
    assert!(is_well_formed(&bytes_of(&doc! {})));
    // Deeper than a recursive reader's stack would go.
    assert!(is_well_formed(&nested(100_000)));
    let mut cut = nested(100_000);
    cut.pop();
    assert!(!is_well_formed(&cut));
}

/// `{d: {d: … {}}}`, `depth` levels, built in one pass.
fn nested(depth: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(depth * 8 + 5);
    for level in 0..depth {
        let length = i32::try_from(5 + 8 * (depth - level)).unwrap();
        out.extend_from_slice(&length.to_le_bytes());
        out.extend_from_slice(&[0x03, b'd', 0]);
    }
    out.extend_from_slice(&[5, 0, 0, 0, 0]);
    out.resize(out.len() + depth, 0);
    out
}

/// Every one-byte change and every cut of a document: what this check
/// accepts, the `bson` crate reads whole (what replay, export and
/// `event()` rely on), and it never panics.
#[test]
fn whatever_it_accepts_the_bson_crate_reads() {
    let good = bytes_of(&every_type());
    let mut accepted = 0;
    let mut refused = 0;
    let mut check = |bytes: &[u8]| {
        if is_well_formed(bytes) {
            accepted += 1;
            let read = bson::Document::from_reader(bytes);
            assert!(read.is_ok(), "accepted, but bson cannot read it: {bytes:?}");
        } else {
            refused += 1;
        }
    };
    for at in 0..good.len() {
        for value in [0x00, 0x01, 0x02, 0x7F, 0x80, 0xFE, 0xFF] {
            let mut changed = good.clone();
            changed[at] = value;
            check(&changed);
        }
        check(&good[..at]);
    }
    // Both outcomes occur: the test is not vacuous either way.
    assert!(accepted > 100 && refused > 1_000, "{accepted} {refused}");
}

#[test]
fn malformed_documents_are_refused() {
    let good = bytes_of(&doc! { "a": "xy", "b": { "c": true } });
    let patch = |find: &[u8], with: &[u8]| {
        let at = good.windows(find.len()).position(|w| w == find).unwrap();
        let mut out = good.clone();
        out[at..at + with.len()].copy_from_slice(with);
        out
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("invalid UTF-8 in a string", patch(b"xy", &[0xC3, 0x28])),
        ("invalid UTF-8 in a nested key", patch(b"c\0", &[0xFF])),
        ("boolean 2", patch(&[0x08, b'c', 0, 1], &[0x08, b'c', 0, 2])),
        ("unknown type", patch(&[0x08, b'c'], &[0x42])),
        ("trailing byte", [good.clone(), vec![0]].concat()),
        ("length says more", {
            let mut out = good.clone();
            out[0] += 1;
            out
        }),
        ("empty", Vec::new()),
        ("too short", vec![4, 0, 0, 0]),
    ];
    for (what, bytes) in cases {
        assert!(!is_well_formed(&bytes), "{what}");
    }
}
