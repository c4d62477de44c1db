use std::fs::{self, OpenOptions};
use std::io::Write;

use bson::{doc, rawdoc};

use super::*;
use crate::{SpoolWriter, segments, set_aside};

/// A sealed segment of `n` small records in a new folder.
fn sealed(n: i32) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = SpoolWriter::new(dir.path().to_owned(), 1 << 20, false);
    for i in 0..n {
        writer
            .append("panoptic-dev", "gcp_ann", &[doc! { "_id": i }], false)
            .unwrap();
    }
    writer.seal().unwrap();
    let segment = segments(dir.path()).unwrap().remove(0);
    (dir, segment)
}

fn content() -> RawDocumentBuf {
    rawdoc! { "v": 1, "events": 3 }
}

#[test]
fn a_summary_reads_back_while_its_segment_is_unchanged() {
    let (_dir, segment) = sealed(3);
    let identity = SegmentIdentity::at(&segment).unwrap();
    assert!(read_summary(&segment, &identity).is_none(), "none yet");
    write_summary(&segment, &identity, &content()).unwrap();
    assert_eq!(read_summary(&segment, &identity), Some(content()));
}

#[test]
fn a_segment_that_grew_or_was_cut_disowns_its_summary() {
    for change in ["grow", "cut"] {
        let (_dir, segment) = sealed(400);
        let identity = SegmentIdentity::at(&segment).unwrap();
        write_summary(&segment, &identity, &content()).unwrap();
        let file = OpenOptions::new().append(true).open(&segment).unwrap();
        match change {
            "grow" => (&file).write_all(b"more").unwrap(),
            _ => file.set_len(identity.length - 10).unwrap(),
        }
        let now = SegmentIdentity::at(&segment).unwrap();
        assert!(read_summary(&segment, &now).is_none(), "{change}");
    }
}

#[test]
fn a_segment_edited_in_place_with_its_time_kept_disowns_its_summary() {
    let (_dir, segment) = sealed(3);
    let identity = SegmentIdentity::at(&segment).unwrap();
    write_summary(&segment, &identity, &content()).unwrap();
    let modified = fs::metadata(&segment).unwrap().modified().unwrap();
    let mut bytes = fs::read(&segment).unwrap();
    let last = bytes.len() - 2;
    bytes[last] ^= 1;
    fs::write(&segment, bytes).unwrap();
    let file = OpenOptions::new().write(true).open(&segment).unwrap();
    file.set_modified(modified).unwrap();
    let now = SegmentIdentity::at(&segment).unwrap();
    assert_eq!(
        (now.length, now.modified),
        (identity.length, identity.modified)
    );
    assert!(read_summary(&segment, &now).is_none());
}

#[test]
fn a_torn_or_flipped_summary_is_no_summary() {
    let (_dir, segment) = sealed(3);
    let identity = SegmentIdentity::at(&segment).unwrap();
    write_summary(&segment, &identity, &content()).unwrap();
    let whole = fs::read(summary_path(&segment)).unwrap();
    for at in 0..whole.len() {
        let mut flipped = whole.clone();
        flipped[at] ^= 0x10;
        fs::write(summary_path(&segment), &flipped).unwrap();
        assert!(read_summary(&segment, &identity).is_none(), "byte {at}");
    }
    for cut in [0, 5, 12, whole.len() / 2, whole.len() - 1] {
        fs::write(summary_path(&segment), &whole[..cut]).unwrap();
        assert!(read_summary(&segment, &identity).is_none(), "cut at {cut}");
    }
}

#[test]
fn another_segments_summary_is_not_this_ones() {
    let (_dir, segment) = sealed(3);
    let (_other_dir, other) = sealed(3);
    let identity = SegmentIdentity::at(&other).unwrap();
    write_summary(&other, &identity, &content()).unwrap();
    fs::copy(summary_path(&other), summary_path(&segment)).unwrap();
    let mine = SegmentIdentity::at(&segment).unwrap();
    assert!(read_summary(&segment, &mine).is_none());
}

#[test]
fn deleting_or_setting_aside_a_segment_deletes_its_summary() {
    let (dir, segment) = sealed(3);
    let identity = SegmentIdentity::at(&segment).unwrap();
    write_summary(&segment, &identity, &content()).unwrap();
    remove_segment(&segment).unwrap();
    assert!(!segment.exists() && !summary_path(&segment).exists());
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);

    let (_dir, segment) = sealed(3);
    let identity = SegmentIdentity::at(&segment).unwrap();
    write_summary(&segment, &identity, &content()).unwrap();
    set_aside(&segment, "test").unwrap();
    assert!(!summary_path(&segment).exists());
}

#[test]
fn a_summary_written_for_a_segment_deleted_meanwhile_is_removed() {
    let (_dir, segment) = sealed(3);
    let identity = SegmentIdentity::at(&segment).unwrap();
    fs::remove_file(&segment).unwrap();
    write_summary(&segment, &identity, &content()).unwrap();
    assert!(!summary_path(&segment).exists());
}

#[test]
fn a_segment_a_writer_holds_is_not_sealed() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = SpoolWriter::new(dir.path().to_owned(), 1 << 20, false);
    writer
        .append("panoptic-dev", "gcp_ann", &[doc! { "_id": 1 }], false)
        .unwrap();
    let active = writer.active_path().unwrap().to_owned();
    assert!(lock_sealed(&active).unwrap().is_none());
    writer.seal().unwrap();
    assert!(lock_sealed(&active).unwrap().is_some());
}
