use std::fs::{self, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use bson::spec::BinarySubtype;
use bson::{Binary, Document, RawDocumentBuf, doc};

use super::format::{MAGIC_V1, MAGIC_V2, MAX_RECORD, SYNC, encode_v1, encode_v2};
use super::segment::RefusedEvent;
use super::*;
use panoptic_catalog::naming::{collection_name, database_name};

const DB: &str = "panoptic-dev";
const COLL: &str = "gcp_ann";

fn sample(n: i32) -> Document {
    doc! { "_id": n, "resource": format!("r{n}") }
}

fn record(n: i32) -> SegmentItem {
    SegmentItem::Record(SpooledEvent {
        database: DB.to_owned(),
        collection: COLL.to_owned(),
        document: RawDocumentBuf::from_document(&sample(n)).unwrap(),
    })
}

fn blob(bytes: usize) -> Binary {
    Binary {
        subtype: BinarySubtype::Generic,
        bytes: vec![7; bytes],
    }
}

fn items(path: &Path) -> Vec<SegmentItem> {
    SegmentReader::open(path)
        .unwrap()
        .collect::<io::Result<_>>()
        .unwrap()
}

fn v2_record(n: i32) -> Vec<u8> {
    let mut out = Vec::new();
    encode_v2(DB, COLL, &sample(n), &mut out).unwrap();
    out
}

/// A segment made of `magic` then `parts`; returns its path and where
/// each part starts.
fn segment_of(dir: &Path, magic: &[u8], parts: &[Vec<u8>]) -> (PathBuf, Vec<u64>) {
    let mut bytes = magic.to_vec();
    let mut offsets = Vec::new();
    for part in parts {
        offsets.push(bytes.len() as u64);
        bytes.extend_from_slice(part);
    }
    let path = dir.join("000000000000001-0000000001-000001.seg");
    fs::write(&path, &bytes).unwrap();
    (path, offsets)
}

fn edit(path: &Path, change: impl FnOnce(&mut Vec<u8>)) {
    let mut bytes = fs::read(path).unwrap();
    change(&mut bytes);
    fs::write(path, bytes).unwrap();
}

fn corrupt(offset: u64, bytes: u64) -> SegmentItem {
    SegmentItem::Corrupt { offset, bytes }
}

/// Writes `bad` between two good records and asserts that exactly its
/// bytes are reported corrupt and both neighbours read.
fn assert_only_it_is_lost(dir: &Path, bad: &[u8], what: &str) {
    let (path, at) = segment_of(dir, MAGIC_V2, &[v2_record(0), bad.to_vec(), v2_record(2)]);
    assert_eq!(
        items(&path),
        [record(0), corrupt(at[1], bad.len() as u64), record(2)],
        "{what}"
    );
}

/// A replay is due for every segment closed with events MongoDB lacks,
/// not only for the growing one: a spill-filled segment sealed by size is
/// no longer "active" yet waits to be replayed.
#[test]
fn a_replay_is_due_for_segments_closed_with_unacknowledged_events() {
    let dir = tempfile::tempdir().unwrap();
    // Every record fills a segment.
    let mut writer = SpoolWriter::new(dir.path().to_owned(), 16, false);
    assert!(!writer.take_replay_due(), "nothing spooled yet");
    // Write-ahead records MongoDB acknowledged: the sealed segment is
    // deleted, nothing to replay.
    writer.append(DB, COLL, &[sample(0)], true).unwrap();
    assert!(!writer.take_replay_due());
    writer.seal_if_full().unwrap();
    assert!(!writer.take_replay_due());
    assert_eq!(segments(dir.path()).unwrap().len(), 0);
    // A spilled record: due while active, and still due once sealed by size.
    writer.append(DB, COLL, &[sample(1)], false).unwrap();
    writer.seal_if_full().unwrap();
    assert!(writer.active_path().is_none(), "sealed by size");
    assert_eq!(segments(dir.path()).unwrap().len(), 1);
    assert!(writer.take_replay_due(), "the sealed segment awaits replay");
    assert!(!writer.take_replay_due(), "told once");
}

#[test]
fn round_trip_and_rotation_in_format_v2() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = SpoolWriter::new(dir.path().to_owned(), 300, false);
    for n in 0..10 {
        writer.append(DB, COLL, &[sample(n)], false).unwrap();
        writer.seal_if_full().unwrap();
    }
    writer.seal().unwrap();
    let spool = Spool::open(dir.path());
    let events = spool.events().unwrap();
    assert_eq!(events.len(), 10);
    assert_eq!(
        events[3].document.get_i32("_id").unwrap(),
        3,
        "append order kept"
    );
    assert!(spool.summary().unwrap().segments > 1, "rotated by size");
    for segment in segments(dir.path()).unwrap() {
        let bytes = fs::read(&segment).unwrap();
        assert_eq!(&bytes[..8], MAGIC_V2);
        assert_eq!(bytes[8..12], SYNC, "records start with the marker");
        assert_eq!(
            SegmentReader::open(&segment).unwrap().format(),
            Some(SegmentFormat::V2)
        );
    }
}

#[test]
fn the_payload_is_the_bson_the_crate_would_write_and_the_crc_covers_the_length() {
    let record = v2_record(7);
    let mut expected = Vec::new();
    doc! { "d": DB, "c": COLL, "e": sample(7) }
        .to_writer(&mut expected)
        .unwrap();
    assert_eq!(record[..4], SYNC);
    assert_eq!(&record[12..], &expected[..]);
    assert_eq!(
        u32::from_le_bytes(record[4..8].try_into().unwrap()) as usize,
        expected.len()
    );
    let mut crc = crc32fast::Hasher::new();
    crc.update(&record[4..8]);
    crc.update(&expected);
    assert_eq!(
        u32::from_le_bytes(record[8..12].try_into().unwrap()),
        crc.finalize()
    );
}

#[test]
fn a_corrupt_record_is_skipped_and_reading_resumes_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let (path, at) = segment_of(
        dir.path(),
        MAGIC_V2,
        &[v2_record(0), v2_record(1), v2_record(2)],
    );
    edit(&path, |b| b[at[1] as usize + 30] ^= 0x01);
    assert_eq!(
        items(&path),
        [record(0), corrupt(at[1], at[2] - at[1]), record(2)]
    );
}

#[test]
fn every_kind_of_damage_costs_only_the_damaged_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let parts = [v2_record(0), v2_record(1), v2_record(2), v2_record(3)];
    let len1 = parts[1].len() as u64;
    let set_length = |value: u32| {
        move |b: &mut Vec<u8>, at: usize| b[at + 4..at + 8].copy_from_slice(&value.to_le_bytes())
    };
    type Damage = Box<dyn Fn(&mut Vec<u8>, usize)>;
    let damages: Vec<(&str, Damage)> = vec![
        ("impossible length", Box::new(set_length(u32::MAX))),
        ("too short for BSON", Box::new(set_length(2))),
        (
            "over the record limit",
            Box::new(set_length(MAX_RECORD as u32 + 1)),
        ),
        (
            "length off by one (the crc covers it)",
            Box::new(set_length(len1 as u32 - 12 + 1)),
        ),
        (
            "missing marker",
            Box::new(|b: &mut Vec<u8>, at: usize| b[at] ^= 0xff),
        ),
        (
            "crc mismatch",
            Box::new(|b: &mut Vec<u8>, at: usize| b[at + 9] ^= 0x10),
        ),
    ];
    for (what, damage) in &damages {
        let (path, at) = segment_of(dir.path(), MAGIC_V2, &parts);
        edit(&path, |b| damage(b, at[1] as usize));
        assert_eq!(
            items(&path),
            [record(0), corrupt(at[1], len1), record(2), record(3)],
            "{what}"
        );
    }

    // Half an append (a crash mid-write) in front of later records.
    assert_only_it_is_lost(dir.path(), &parts[1][..parts[1].len() / 2], "torn append");

    // Adjacent bad records are one region.
    let (path, at) = segment_of(dir.path(), MAGIC_V2, &parts);
    edit(&path, |b| {
        b[at[1] as usize + 20] ^= 1;
        b[at[2] as usize + 20] ^= 1;
    });
    assert_eq!(
        items(&path),
        [record(0), corrupt(at[1], at[3] - at[1]), record(3)],
        "two in a row"
    );

    // The last record cut short: its length runs past the end of the file.
    let (path, at) = segment_of(dir.path(), MAGIC_V2, &parts);
    let size = fs::metadata(&path).unwrap().len();
    OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(size - 7)
        .unwrap();
    assert_eq!(
        items(&path),
        [
            record(0),
            record(1),
            record(2),
            corrupt(at[3], size - 7 - at[3])
        ],
        "torn tail"
    );
}

/// A v2 record around `payload`, its crc correct.
fn framed(payload: &[u8]) -> Vec<u8> {
    let length = u32::try_from(payload.len()).unwrap().to_le_bytes();
    let mut crc = crc32fast::Hasher::new();
    crc.update(&length);
    crc.update(payload);
    let mut record = SYNC.to_vec();
    record.extend_from_slice(&length);
    record.extend_from_slice(&crc.finalize().to_le_bytes());
    record.extend_from_slice(payload);
    record
}

/// `payload` with the first occurrence of `find` replaced by `with`.
fn patched(payload: &[u8], find: &[u8], with: &[u8]) -> Vec<u8> {
    let at = payload
        .windows(find.len())
        .position(|w| w == find)
        .expect("bytes to patch");
    let mut out = payload.to_vec();
    out[at..at + with.len()].copy_from_slice(with);
    out
}

#[test]
fn a_payload_with_a_good_crc_is_a_record_only_when_it_reads_whole() {
    let dir = tempfile::tempdir().unwrap();
    let event = doc! {
        "_id": 1,
        "metadata": { "tags": ["team", "zz"], "price": { "unit": "query" } },
        "s": "text",
    };
    let mut good = Vec::new();
    doc! { "d": DB, "c": COLL, "e": event.clone() }
        .to_writer(&mut good)
        .unwrap();
    // Read whole: nested documents and arrays come back as written.
    let (path, _) = segment_of(dir.path(), MAGIC_V2, &[framed(&good)]);
    match &items(&path)[..] {
        [SegmentItem::Record(read)] => assert_eq!(read.to_document().unwrap(), event),
        other => panic!("{other:?}"),
    }
    let shapes: Vec<(&str, Vec<u8>)> = vec![
        ("`{}`: no d, c, e", vec![5, 0, 0, 0, 0]),
        // Invalid UTF-8 in a string inside an array inside a document.
        (
            "bad UTF-8, two levels down",
            patched(&good, b"zz", &[0xFF, 0xFE]),
        ),
        // An element type BSON does not have, in a nested document.
        (
            "unknown element type",
            patched(&good, b"\x02unit\0", b"\x77"),
        ),
        ("the event is not a document", {
            let mut out = Vec::new();
            doc! { "d": DB, "c": COLL, "e": "text" }
                .to_writer(&mut out)
                .unwrap();
            out
        }),
        ("no database", {
            let mut out = Vec::new();
            doc! { "c": COLL, "e": event.clone() }
                .to_writer(&mut out)
                .unwrap();
            out
        }),
    ];
    for (what, payload) in shapes {
        assert_only_it_is_lost(dir.path(), &framed(&payload), what);
    }
}

#[test]
fn a_marker_inside_a_damaged_payload_does_not_derail_the_resync() {
    let dir = tempfile::tempdir().unwrap();
    let mut fake = SYNC.to_vec();
    fake.extend_from_slice(&40u32.to_le_bytes()); // a plausible length
    fake.extend_from_slice(&[0xAB; 60]);
    let mut event = sample(1);
    event.insert(
        "data",
        Binary {
            subtype: BinarySubtype::Generic,
            bytes: fake,
        },
    );
    let mut with_marker = Vec::new();
    encode_v2(DB, COLL, &event, &mut with_marker).unwrap();
    let (path, at) = segment_of(
        dir.path(),
        MAGIC_V2,
        &[v2_record(0), with_marker.clone(), v2_record(2)],
    );
    // Intact, the marker inside the payload is just data.
    assert_eq!(items(&path).len(), 3);
    edit(&path, |b| b[at[1] as usize + 9] ^= 1);
    assert_eq!(
        items(&path),
        [
            record(0),
            corrupt(at[1], with_marker.len() as u64),
            record(2)
        ]
    );
}

#[test]
fn v1_segments_are_still_read_and_a_bad_record_ends_them() {
    let dir = tempfile::tempdir().unwrap();
    let parts: Vec<Vec<u8>> = (0..3)
        .map(|n| {
            let mut out = Vec::new();
            encode_v1(DB, COLL, &sample(n), &mut out).unwrap();
            out
        })
        .collect();
    let (path, at) = segment_of(dir.path(), MAGIC_V1, &parts);
    assert_eq!(
        SegmentReader::open(&path).unwrap().format(),
        Some(SegmentFormat::V1)
    );
    assert_eq!(items(&path), [record(0), record(1), record(2)]);
    assert_eq!(Spool::open(dir.path()).events().unwrap().len(), 3);

    edit(&path, |b| b[at[1] as usize + 20] ^= 1);
    let size = fs::metadata(&path).unwrap().len();
    assert_eq!(items(&path), [record(0), corrupt(at[1], size - at[1])]);
}

#[test]
fn the_reader_streams_record_by_record() {
    let dir = tempfile::tempdir().unwrap();
    // Each record larger than the reader's buffer.
    let parts: Vec<Vec<u8>> = (0..3)
        .map(|n| {
            let mut event = sample(n);
            event.insert("blob", blob(100 * 1024));
            let mut out = Vec::new();
            encode_v2(DB, COLL, &event, &mut out).unwrap();
            out
        })
        .collect();
    let (path, at) = segment_of(dir.path(), MAGIC_V2, &parts);
    let mut reader = SegmentReader::open(&path).unwrap();
    assert!(matches!(reader.next(), Some(Ok(SegmentItem::Record(_)))));
    // Damage the last record on disk now: a reader that had loaded the
    // file would not see it.
    let mut file = OpenOptions::new().write(true).open(&path).unwrap();
    file.seek(SeekFrom::Start(at[2] + 50_000)).unwrap();
    file.write_all(&[0x55; 16]).unwrap();
    drop(file);
    assert!(matches!(reader.next(), Some(Ok(SegmentItem::Record(_)))));
    assert!(matches!(
        reader.next(),
        Some(Ok(SegmentItem::Corrupt { offset, .. })) if offset == at[2]
    ));
    assert!(reader.next().is_none());
}

#[test]
fn records_bound_elsewhere_are_invalid_and_never_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = SpoolWriter::new(dir.path().to_owned(), 1 << 20, false);
    let long_env = format!("panoptic-{}", "x".repeat(60));
    let refused: [(&str, &str, Document); 11] = [
        ("admin", COLL, sample(1)),
        ("local", COLL, sample(2)),
        ("panoptic-Dev", COLL, sample(3)),
        ("panoptic-", COLL, sample(4)),
        ("panoptic-a.b", COLL, sample(5)),
        (&long_env, COLL, sample(6)),
        (DB, "system.users", sample(7)),
        (DB, "a$b", sample(8)),
        (DB, "Gcp_Ann", sample(9)),
        (DB, "", sample(10)),
        (DB, COLL, doc! { "resource": "no id" }),
    ];
    for (database, collection, document) in &refused {
        writer
            .append(database, collection, std::slice::from_ref(document), false)
            .unwrap();
    }
    // Whatever naming produces is accepted, hashed and cut names included.
    let accepted = [
        (database_name("production"), collection_name("gcp", "ann")),
        (
            database_name("QA 2"),
            collection_name("Google Cloud (GCP)", "日本"),
        ),
        (
            database_name(&"y".repeat(100)),
            collection_name("gcp", &"z".repeat(300)),
        ),
    ];
    for (database, collection) in &accepted {
        writer
            .append(database, collection, &[sample(0)], false)
            .unwrap();
    }
    // A destination already found valid does not vouch for the next
    // record's `_id`.
    let no_id = doc! { "resource": "no id, after one with an id" };
    writer
        .append(DB, COLL, &[sample(11), no_id], false)
        .unwrap();
    writer.seal().unwrap();
    let path = segments(dir.path()).unwrap().remove(0);
    let found = items(&path);
    let invalid: Vec<&str> = found
        .iter()
        .filter_map(|item| match item {
            SegmentItem::Invalid { reason, .. } => Some(reason.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(invalid.len(), refused.len() + 1, "{found:#?}");
    assert!(invalid[0].contains("\"admin\""), "{}", invalid[0]);
    assert!(invalid[10].contains("_id"), "{}", invalid[10]);
    assert!(invalid[11].contains("_id"), "{}", invalid[11]);
    let records = found
        .iter()
        .filter(|item| matches!(item, SegmentItem::Record(_)))
        .count();
    assert_eq!(records, accepted.len() + 1);
    let spool = Spool::open(dir.path());
    assert_eq!(spool.events().unwrap().len(), accepted.len() + 1);
    assert_eq!(spool.summary().unwrap().events, accepted.len() + 1);
}

#[test]
fn files_that_are_not_segments_are_refused_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = SpoolWriter::new(dir.path().to_owned(), 1 << 20, false);
    writer.append(DB, COLL, &[sample(1)], false).unwrap();
    writer.seal().unwrap();
    let junk = dir.path().join("junk.seg");
    fs::write(&junk, b"hello, not a segment at all").unwrap();
    let error = SegmentReader::open(&junk).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::InvalidData);

    let spool = Spool::open(dir.path());
    assert_eq!(spool.events().unwrap().len(), 1);
    let summary = spool.summary().unwrap();
    assert_eq!((summary.segments, summary.events), (2, 1));

    // Created, then the process died before its magic was complete.
    let empty = dir.path().join("empty.seg");
    fs::write(&empty, b"").unwrap();
    assert!(items(&empty).is_empty());
    assert_eq!(SegmentReader::open(&empty).unwrap().format(), None);
    fs::write(&empty, b"PANS").unwrap();
    assert_eq!(items(&empty), [corrupt(0, 4)]);
}

#[test]
fn a_failed_append_leaves_no_torn_bytes_in_front_of_later_records() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = SpoolWriter::new(dir.path().to_owned(), 1 << 20, false);
    writer.append(DB, COLL, &[sample(0)], false).unwrap();
    writer.faults.write_only = Some(10);
    let error = writer
        .append(DB, COLL, &[sample(1), sample(2)], false)
        .unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::StorageFull);
    writer.append(DB, COLL, &[sample(3)], false).unwrap();
    let path = writer.active_path().unwrap().to_owned();
    writer.seal().unwrap();
    let expected = [record(0), record(3)];
    assert_eq!(items(&path), expected);
    let size = MAGIC_V2.len() + v2_record(0).len() + v2_record(3).len();
    assert_eq!(fs::metadata(&path).unwrap().len(), size as u64);
}

#[test]
fn a_segment_that_cannot_be_cut_back_is_abandoned() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = SpoolWriter::new(dir.path().to_owned(), 1 << 20, false);
    writer.append(DB, COLL, &[sample(0)], false).unwrap();
    let first = writer.active_path().unwrap().to_owned();
    writer.faults.write_only = Some(10);
    writer.faults.set_len_fails = true;
    assert!(writer.append(DB, COLL, &[sample(1)], false).is_err());
    assert_eq!(writer.active_path(), None, "abandoned");
    assert!(writer.take_replay_due(), "its records await replay");
    writer.append(DB, COLL, &[sample(2)], false).unwrap();
    let second = writer.active_path().unwrap().to_owned();
    assert_ne!(first, second);
    writer.seal().unwrap();
    let torn_at = (MAGIC_V2.len() + v2_record(0).len()) as u64;
    assert_eq!(items(&first), [record(0), corrupt(torn_at, 10)]);
    assert_eq!(items(&second), [record(2)]);
    // The abandoned segment was unlocked: it can be replayed.
    assert!(claim_oldest(dir.path(), None).unwrap().is_some());
}

#[test]
fn an_event_too_large_to_read_back_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = SpoolWriter::new(dir.path().to_owned(), 1 << 20, false);
    let huge = doc! { "_id": 1, "a": blob(9 << 20), "b": blob(9 << 20) };
    let error = writer
        .append(DB, COLL, &[sample(0), huge], false)
        .unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    assert_eq!(RefusedEvent::of(&error).unwrap().index, 1);
    assert!(segments(dir.path()).unwrap().is_empty(), "nothing written");

    // MongoDB's largest document fits, and reads back.
    let largest = doc! { "_id": 2, "blob": blob((16 << 20) - 1024) };
    writer
        .append(DB, COLL, std::slice::from_ref(&largest), false)
        .unwrap();
    let path = writer.active_path().unwrap().to_owned();
    writer.seal().unwrap();
    let found = items(&path);
    assert!(
        matches!(&found[..], [SegmentItem::Record(e)] if e.to_document().unwrap() == largest),
        "read back"
    );
}

#[test]
fn the_cap_refuses_appends_until_space_returns() {
    let dir = tempfile::tempdir().unwrap();
    let cap = 2000;
    let options = SpoolOptions {
        segment_bytes: 400,
        fsync: false,
        max_bytes: Some(cap),
    };
    let mut writer = SpoolWriter::with_options(dir.path().to_owned(), options);
    let size_on_disk = || -> u64 {
        segments(dir.path())
            .unwrap()
            .iter()
            .map(|p| fs::metadata(p).unwrap().len())
            .sum()
    };
    let mut appended = 0;
    let error = loop {
        match writer.append(DB, COLL, &[sample(appended)], false) {
            Ok(()) => appended += 1,
            Err(error) => break error,
        }
        writer.seal_if_full().unwrap();
        assert!(appended < 1000, "the cap never applied");
    };
    assert_eq!(error.kind(), io::ErrorKind::StorageFull);
    assert!(error.to_string().contains("2000"), "{error}");
    let full = size_on_disk();
    assert!(full <= cap, "{full} > {cap}");
    assert!(
        full + v2_record(appended).len() as u64 > cap - 8,
        "refused only when needed"
    );
    // Refused again, and nothing written meanwhile.
    assert!(writer.append(DB, COLL, &[sample(appended)], false).is_err());
    assert_eq!(size_on_disk(), full);
    assert_eq!(
        Spool::open(dir.path()).events().unwrap().len(),
        appended as usize
    );

    // Replay delivers and deletes the oldest segment: room again.
    let oldest = segments(dir.path()).unwrap().remove(0);
    assert_ne!(Some(oldest.as_path()), writer.active_path());
    fs::remove_file(&oldest).unwrap();
    writer.append(DB, COLL, &[sample(appended)], false).unwrap();
}

#[test]
fn the_cap_counts_segments_already_in_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let mut before = SpoolWriter::new(dir.path().to_owned(), 1 << 20, false);
    for n in 0..20 {
        before.append(DB, COLL, &[sample(n)], false).unwrap();
    }
    before.seal().unwrap();
    let there: u64 = fs::metadata(segments(dir.path()).unwrap().remove(0))
        .unwrap()
        .len();
    let next = (MAGIC_V2.len() + v2_record(20).len()) as u64;
    let capped = |max_bytes| {
        SpoolWriter::with_options(
            dir.path().to_owned(),
            SpoolOptions {
                segment_bytes: 1 << 20,
                fsync: false,
                max_bytes: Some(max_bytes),
            },
        )
    };
    let refused = capped(there + next - 1)
        .append(DB, COLL, &[sample(20)], false)
        .unwrap_err();
    assert_eq!(refused.kind(), io::ErrorKind::StorageFull);
    capped(there + next)
        .append(DB, COLL, &[sample(20)], false)
        .unwrap();
}

#[cfg(unix)]
#[test]
fn folders_and_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("app/spool");
    let mut writer = SpoolWriter::new(dir.clone(), 1 << 20, false);
    writer.append(DB, COLL, &[sample(1)], false).unwrap();
    let segment = writer.active_path().unwrap().to_owned();
    writer.seal().unwrap();
    assert_eq!(mode(&root.path().join("app")), 0o700);
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&segment), 0o600);

    let letter = dead_letter(&dir, DB, COLL, &sample(2), "refused").unwrap();
    assert_eq!(mode(letter.parent().unwrap()), 0o700);
    assert_eq!(mode(&letter), 0o600);

    let aside = set_aside(&segment, "test").unwrap();
    assert_eq!(mode(aside.parent().unwrap()), 0o700);
    assert_eq!(mode(&aside), 0o600);
    let mut why = aside.into_os_string();
    why.push(".why");
    assert_eq!(mode(Path::new(&why)), 0o600);
}

#[test]
fn dead_letters_keep_events_of_any_size() {
    let dir = tempfile::tempdir().unwrap();
    let huge = doc! { "_id": 1, "a": blob(9 << 20), "b": blob(9 << 20) };
    let path = dead_letter(dir.path(), DB, COLL, &huge, "larger than MongoDB takes").unwrap();
    assert_eq!(path.parent().unwrap(), dir.path().join("dead-letter"));
    let name = path.file_name().unwrap().to_str().unwrap();
    let parts: Vec<&str> = name.strip_suffix(".bson").unwrap().split('-').collect();
    assert_eq!(parts.len(), 3, "{name}");
    assert_eq!(parts[0].len(), 15, "{name}");
    assert_eq!(parts[1], std::process::id().to_string());
    assert!(parts[2].parse::<u64>().is_ok(), "{name}");
    let other = dead_letter(dir.path(), "admin", "x", &sample(2), "bound elsewhere").unwrap();
    assert_ne!(path, other);

    let spool = Spool::open(dir.path());
    let letters = spool.dead_letters().unwrap();
    assert_eq!(letters.len(), 2);
    let first = letters.iter().find(|l| l.path == path).unwrap();
    assert_eq!(first.reason, "larger than MongoDB takes");
    assert_eq!(
        (first.database.as_str(), first.collection.as_str()),
        (DB, COLL)
    );
    assert_eq!(first.document, huge);
    let summary = spool.summary().unwrap();
    assert_eq!(
        (summary.segments, summary.events, summary.dead_letters),
        (0, 0, 2)
    );
    assert_eq!(
        fs::read_dir(dir.path().join("dead-letter"))
            .unwrap()
            .count(),
        2,
        "no partial files left"
    );

    // A damaged file is listed, not hidden.
    fs::write(dir.path().join("dead-letter/x.bson"), b"garbage").unwrap();
    let letters = spool.dead_letters().unwrap();
    assert_eq!(letters.len(), 3);
    assert!(letters.iter().any(|l| l.reason.starts_with("unreadable")));
}

#[test]
fn set_aside_segments_keep_their_reason_and_can_be_restored() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = SpoolWriter::new(dir.path().to_owned(), 1 << 20, false);
    writer
        .append(DB, COLL, &[sample(1), sample(2), sample(3)], false)
        .unwrap();
    writer.seal().unwrap();
    let path = segments(dir.path()).unwrap().remove(0);
    let bytes = fs::read(&path).unwrap();

    let aside = set_aside(&path, "replay failed:\nbad bytes").unwrap();
    assert_eq!(
        aside,
        dir.path().join("aside").join(path.file_name().unwrap())
    );
    assert!(!path.exists());
    assert_eq!(fs::read(&aside).unwrap(), bytes, "moved intact");
    let mut why = aside.clone().into_os_string();
    why.push(".why");
    assert_eq!(
        fs::read_to_string(&why).unwrap(),
        "replay failed: bad bytes\n"
    );

    // Something else with the same name later: set aside beside it.
    fs::write(&path, b"not a segment").unwrap();
    let second = set_aside(&path, "no magic").unwrap();
    assert_ne!(second, aside);
    assert_eq!(fs::read(&aside).unwrap(), bytes, "not overwritten");

    let spool = Spool::open(dir.path());
    assert_eq!(
        spool.set_aside().unwrap(),
        // `{stem}-1.seg` sorts before `{stem}.seg`.
        [
            (second, "no magic".to_owned()),
            (aside, "replay failed: bad bytes".to_owned()),
        ]
    );
    let summary = spool.summary().unwrap();
    assert_eq!(
        (summary.segments, summary.events, summary.set_aside),
        (0, 0, 2)
    );

    assert_eq!(spool.restore_set_aside().unwrap(), 2);
    assert_eq!(spool.events().unwrap().len(), 3);
    assert!(spool.set_aside().unwrap().is_empty());
    assert_eq!(
        fs::read_dir(dir.path().join("aside")).unwrap().count(),
        0,
        "reasons removed too"
    );
}

#[test]
fn two_writers_of_one_process_never_pick_the_same_segment_name() {
    let dir = tempfile::tempdir().unwrap();
    let mut writers: Vec<SpoolWriter> = (0..4)
        .map(|_| SpoolWriter::new(dir.path().to_owned(), 1 << 20, false))
        .collect();
    // Same millisecond, same pid: only the sequence tells them apart.
    for (n, writer) in writers.iter_mut().enumerate() {
        writer.append(DB, COLL, &[sample(n as i32)], false).unwrap();
    }
    assert_eq!(segments(dir.path()).unwrap().len(), 4);
}

#[test]
fn acknowledged_segments_are_deleted_on_seal() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = SpoolWriter::new(dir.path().to_owned(), 1 << 20, false);
    writer.append(DB, COLL, &[sample(1)], true).unwrap();
    writer.seal().unwrap();
    assert_eq!(Spool::open(dir.path()).summary().unwrap().segments, 0);
}

#[test]
fn a_locked_segment_is_not_claimed() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = SpoolWriter::new(dir.path().to_owned(), 1 << 20, false);
    writer.append(DB, COLL, &[sample(1)], false).unwrap();
    let active = writer.active_path().unwrap().to_owned();
    // Another handle (as another process would) cannot take it.
    assert!(claim_oldest(dir.path(), None).unwrap().is_none());
    writer.seal().unwrap();
    let claimed = claim_oldest(dir.path(), None).unwrap().unwrap();
    assert_eq!(claimed.path, active);
}
