use super::*;
use bson::doc;

#[test]
fn elements_read_back_as_bson() {
    let mut out = Vec::new();
    let start = begin_document(&mut out);
    put_str(&mut out, "s", "é").unwrap();
    put_f64(&mut out, "f", 1.5);
    put_datetime(&mut out, "t", 1_700_000_000_123);
    put_null(&mut out, "n");
    put_str_array(&mut out, "a", &["x", "y"]).unwrap();
    put_str_array(&mut out, "e", &[]).unwrap();
    let inner = doc! { "k": 1_i32, "j": "v" };
    put_document(&mut out, "d", &inner).unwrap();
    end_document(&mut out, start).unwrap();
    let read = Document::from_reader(out.as_slice()).unwrap();
    assert_eq!(
        read,
        doc! {
            "s": "é", "f": 1.5,
            "t": bson::DateTime::from_millis(1_700_000_000_123),
            "n": bson::Bson::Null, "a": ["x", "y"], "e": [],
            "d": { "k": 1_i32, "j": "v" },
        }
    );
}

#[test]
fn elements_are_the_bytes_the_bson_serializer_makes() {
    let every_type = doc! {
        "f": 2.5, "s": "text with a \0 inside", "d": { "k": [1_i32, "two", { "x": true }] },
        "a": [], "b": false, "n": Bson::Null, "i": -7_i32, "l": 1_i64 << 40,
        "o": bson::oid::ObjectId::from_bytes([7; 12]),
        "t": bson::DateTime::from_millis(-1),
        "m": bson::Decimal128::from_bytes([3; 16]),
        "bin": bson::Binary { subtype: bson::spec::BinarySubtype::Generic, bytes: vec![1, 2] },
        "re": bson::Regex { pattern: "a+".into(), options: "i".into() },
        "ts": bson::Timestamp { time: 1, increment: 2 },
        "u": Bson::Undefined, "max": Bson::MaxKey, "min": Bson::MinKey,
    };
    let mut expected = Vec::new();
    every_type.to_writer(&mut expected).unwrap();
    let mut out = Vec::new();
    let start = begin_document(&mut out);
    put_elements(&mut out, &every_type).unwrap();
    end_document(&mut out, start).unwrap();
    assert_eq!(out, expected);
}

#[test]
fn a_key_with_a_nul_is_refused_as_the_serializer_refuses_it() {
    let bad = doc! { "ok": 1_i32, "no\0pe": 2_i32 };
    assert!(bad.to_writer(&mut Vec::new()).is_err());
    assert!(put_elements(&mut Vec::new(), &bad).is_err());
}
