use std::fs;
use std::io;
use std::path::Path;

use bson::{RawDocumentBuf, doc};

use crate::format::{MAGIC_V1, MAGIC_V2, encode_v1, encode_v2};
use crate::{Spool, SpooledEvent};

const DB: &str = "panoptic-dev";
const COLL: &str = "gcp_ann";

fn v2(database: &str, n: i32) -> Vec<u8> {
    let mut out = Vec::new();
    encode_v2(database, COLL, &doc! { "_id": n }, &mut out).unwrap();
    out
}

fn v1(n: i32) -> Vec<u8> {
    let mut out = Vec::new();
    encode_v1(DB, COLL, &doc! { "_id": n }, &mut out).unwrap();
    out
}

fn event(n: i32) -> SpooledEvent {
    SpooledEvent {
        database: DB.to_owned(),
        collection: COLL.to_owned(),
        document: RawDocumentBuf::from_document(&doc! { "_id": n }).unwrap(),
    }
}

/// Writes `name` (a segment when it ends in `.seg`) from its parts.
fn write(dir: &Path, name: &str, parts: &[&[u8]]) {
    fs::write(dir.join(name), parts.concat()).unwrap();
}

/// A spool of five segments and two files that are not: every kind of
/// damage the reader passes over, so that the reader and `events()` can be
/// compared where it matters.
fn damaged_spool(dir: &Path) {
    write(
        dir,
        "1-1-1.seg",
        &[MAGIC_V2, &v2(DB, 0), &v2(DB, 1), &v2(DB, 2)],
    );
    // A flipped bit in record 4, and a record bound for a database
    // panoptic never writes to (invalid, never read back as an event).
    let mut flipped = v2(DB, 4);
    flipped[20] ^= 1;
    write(
        dir,
        "2-1-1.seg",
        &[
            MAGIC_V2,
            &v2(DB, 3),
            &flipped,
            &v2(DB, 5),
            &v2("admin", 99),
            &v2(DB, 6),
        ],
    );
    // Written before the sync marker existed.
    write(dir, "3-1-1.seg", &[MAGIC_V1, &v1(7), &v1(8)]);
    // A process died right after creating it.
    write(dir, "4-1-1.seg", &[&MAGIC_V2[..3]]);
    // Not something panoptic wrote: skipped, never read as events.
    write(dir, "5-1-1.seg", &[b"not a segment at all"]);
    write(dir, "notes.txt", &[MAGIC_V2, &v2(DB, 98)]);
    // A torn tail: the last append cut short by a crash.
    let torn = v2(DB, 10);
    write(
        dir,
        "6-1-1.seg",
        &[MAGIC_V2, &v2(DB, 9), &torn[..torn.len() - 5]],
    );
}

fn ids(events: &[SpooledEvent]) -> Vec<i32> {
    events
        .iter()
        .map(|e| e.document.get_i32("_id").unwrap())
        .collect()
}

#[test]
fn the_reader_yields_what_events_collects_across_damaged_segments() {
    let dir = tempfile::tempdir().unwrap();
    damaged_spool(dir.path());
    let spool = Spool::open(dir.path());
    let streamed: Vec<SpooledEvent> = spool.reader().unwrap().collect::<io::Result<_>>().unwrap();
    assert_eq!(ids(&streamed), [0, 1, 2, 3, 5, 6, 7, 8, 9]);
    assert_eq!(streamed, spool.events().unwrap());
    assert_eq!(streamed[0], event(0));

    let mut counted = Vec::new();
    let summary = spool
        .summary_with(|event| counted.push(event.clone()))
        .unwrap();
    assert_eq!(counted, streamed, "summary_with sees the same events");
    assert_eq!(summary.events, streamed.len());
    assert_eq!(summary.segments, 6, "every .seg file, read or not");
}

#[test]
fn the_reader_opens_each_segment_when_it_reaches_it() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "1-1-1.seg", &[MAGIC_V2, &v2(DB, 0), &v2(DB, 1)]);
    write(dir.path(), "2-1-1.seg", &[MAGIC_V2, &v2(DB, 2)]);
    write(dir.path(), "3-1-1.seg", &[MAGIC_V2, &v2(DB, 3)]);
    let mut reader = Spool::open(dir.path()).reader().unwrap();
    assert_eq!(reader.next().unwrap().unwrap(), event(0));
    // Replayed by another process meanwhile: passed over, not an error.
    fs::remove_file(dir.path().join("2-1-1.seg")).unwrap();
    // Grown after the folder was listed: read as it is when reached.
    let third = dir.path().join("3-1-1.seg");
    fs::write(&third, [&MAGIC_V2[..], &v2(DB, 3), &v2(DB, 4)].concat()).unwrap();
    let rest: Vec<SpooledEvent> = reader.collect::<io::Result<_>>().unwrap();
    assert_eq!(ids(&rest), [1, 3, 4]);
}

#[test]
fn a_missing_folder_reads_as_empty() {
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(dir.path().join("never-made"));
    assert_eq!(spool.reader().unwrap().count(), 0);
}
