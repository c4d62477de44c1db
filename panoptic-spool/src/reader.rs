//! Reading a segment record by record, through a buffer: a segment may be
//! as large as the disk allows, and replay must not need it all in memory.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use super::SpooledEvent;
use super::format::{
    HEADER_V1, HEADER_V2, MAGIC_LEN, MAGIC_V1, MAGIC_V2, MAX_RECORD, MIN_BSON, SYNC, decode_payload,
};

/// Read buffer: a few typical records per read.
const BUFFER: usize = 64 * 1024;

/// Which framing a segment uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentFormat {
    /// `PANSPL01`: `[length][crc32][payload]`. A bad record ends the
    /// segment, since nothing marks where the next one starts.
    V1,
    /// `PANSPL02`: `[sync][length][crc32][payload]`. Reading resumes at the
    /// next sync marker after a bad record.
    V2,
}

/// One thing found in a segment, in file order.
#[derive(Debug, Clone, PartialEq)]
pub enum SegmentItem {
    /// An intact event bound for a panoptic database: safe to replay.
    Record(SpooledEvent),
    /// Bytes that hold no readable record (a torn write, a flipped bit).
    /// Adjacent bad records are reported as one region.
    Corrupt {
        /// Where the region starts in the file.
        offset: u64,
        /// Its length.
        bytes: u64,
    },
    /// An intact record that must not be replayed as is: its destination is
    /// not one panoptic produces, or the document has no `_id` (without
    /// which a replay would not be idempotent).
    Invalid {
        /// The record.
        event: SpooledEvent,
        /// Why it was refused.
        reason: String,
    },
}

/// Iterates over the records of one segment, holding one record in memory
/// at a time.
///
/// [`SegmentReader::open`] fails with `InvalidData` for a file that does
/// not start with a segment magic: not something panoptic wrote, to be set
/// aside rather than read or deleted. An I/O error mid-segment is yielded
/// once and ends the iteration.
#[derive(Debug)]
pub struct SegmentReader {
    reader: BufReader<File>,
    format: Option<SegmentFormat>,
    /// Start of the next record to read.
    next: u64,
    /// Where `reader` stands; `None` after a failed read.
    cursor: Option<u64>,
    /// File length when opened: bytes appended later are not read (a live
    /// writer's next record may be half there).
    end: u64,
    /// An item found together with the corrupt region before it.
    pending: Option<SegmentItem>,
    done: bool,
    payload: Vec<u8>,
    /// The last destination found replayable: a segment's records mostly
    /// share one, checked once.
    valid_route: Option<(String, String)>,
}

impl SegmentReader {
    /// Opens a segment and checks its magic. A file that ends before its
    /// magic is complete (created, then the process died) holds no records.
    pub fn open(path: impl AsRef<Path>) -> io::Result<SegmentReader> {
        let path = path.as_ref();
        let file = File::open(path)?;
        let end = file.metadata()?.len();
        let mut reader = BufReader::with_capacity(BUFFER, file);
        let mut magic = [0; MAGIC_LEN];
        let got = read_up_to(&mut reader, &mut magic)?;
        let head = &magic[..got];
        let format = if head == MAGIC_V2 {
            Some(SegmentFormat::V2)
        } else if head == MAGIC_V1 {
            Some(SegmentFormat::V1)
        } else if got < MAGIC_LEN && (MAGIC_V2.starts_with(head) || MAGIC_V1.starts_with(head)) {
            None
        } else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} is not a spool segment (no magic)", path.display()),
            ));
        };
        let pending = (format.is_none() && got > 0).then_some(SegmentItem::Corrupt {
            offset: 0,
            bytes: got as u64,
        });
        Ok(SegmentReader {
            reader,
            format,
            next: got as u64,
            cursor: Some(got as u64),
            end: end.max(got as u64),
            pending,
            done: format.is_none(),
            payload: Vec::new(),
            valid_route: None,
        })
    }

    /// The segment's framing; `None` when the file ends inside its magic.
    pub fn format(&self) -> Option<SegmentFormat> {
        self.format
    }

    /// A record as an item: `Invalid` when it must not be replayed.
    fn checked(&mut self, event: SpooledEvent) -> SegmentItem {
        let known = self
            .valid_route
            .as_ref()
            .is_some_and(|(d, c)| *d == event.database && *c == event.collection);
        let verdict = if known {
            super::has_id(&event)
        } else {
            super::replayable(&event)
        };
        match verdict {
            Ok(()) => {
                if !known {
                    self.valid_route = Some((event.database.clone(), event.collection.clone()));
                }
                SegmentItem::Record(event)
            }
            Err(reason) => SegmentItem::Invalid { event, reason },
        }
    }

    fn advance(&mut self) -> io::Result<Option<SegmentItem>> {
        let start = self.next;
        if start >= self.end {
            return Ok(None);
        }
        match self.format {
            None => Ok(None),
            Some(SegmentFormat::V1) => match self.record_v1(start)? {
                Some(event) => Ok(Some(self.checked(event))),
                None => {
                    // No marker to resume at: the rest is lost to this reader.
                    self.next = self.end;
                    Ok(Some(SegmentItem::Corrupt {
                        offset: start,
                        bytes: self.end - start,
                    }))
                }
            },
            Some(SegmentFormat::V2) => {
                let mut at = start;
                loop {
                    if let Some(event) = self.record_v2(at)? {
                        let item = self.checked(event);
                        if at == start {
                            return Ok(Some(item));
                        }
                        self.pending = Some(item);
                        return Ok(Some(SegmentItem::Corrupt {
                            offset: start,
                            bytes: at - start,
                        }));
                    }
                    match self.find_sync(at + 1)? {
                        Some(candidate) => at = candidate,
                        None => {
                            self.next = self.end;
                            return Ok(Some(SegmentItem::Corrupt {
                                offset: start,
                                bytes: self.end - start,
                            }));
                        }
                    }
                }
            }
        }
    }

    /// The v2 record at `at`, if one is intact there; on success the next
    /// read starts after it.
    fn record_v2(&mut self, at: u64) -> io::Result<Option<SpooledEvent>> {
        let mut header = [0; HEADER_V2];
        if self.end - at < HEADER_V2 as u64 {
            return Ok(None);
        }
        self.seek(at)?;
        if !self.read_exact(&mut header)? || header[..4] != SYNC {
            return Ok(None);
        }
        let length = u32::from_le_bytes(header[4..8].try_into().expect("4 bytes"));
        let crc = u32::from_le_bytes(header[8..12].try_into().expect("4 bytes"));
        let Some(payload) = self.payload(at + HEADER_V2 as u64, length)? else {
            return Ok(None);
        };
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&header[4..8]);
        hasher.update(payload);
        if hasher.finalize() != crc {
            return Ok(None);
        }
        let event = decode_payload(payload);
        if event.is_some() {
            self.next = at + HEADER_V2 as u64 + u64::from(length);
        }
        Ok(event)
    }

    /// The v1 record at `at`, if one is intact there.
    fn record_v1(&mut self, at: u64) -> io::Result<Option<SpooledEvent>> {
        let mut header = [0; HEADER_V1];
        if self.end - at < HEADER_V1 as u64 {
            return Ok(None);
        }
        self.seek(at)?;
        if !self.read_exact(&mut header)? {
            return Ok(None);
        }
        let length = u32::from_le_bytes(header[..4].try_into().expect("4 bytes"));
        let crc = u32::from_le_bytes(header[4..].try_into().expect("4 bytes"));
        let Some(payload) = self.payload(at + HEADER_V1 as u64, length)? else {
            return Ok(None);
        };
        if crc32fast::hash(payload) != crc {
            return Ok(None);
        }
        let event = decode_payload(payload);
        if event.is_some() {
            self.next = at + HEADER_V1 as u64 + u64::from(length);
        }
        Ok(event)
    }

    /// Reads a payload of `length` bytes starting at `from` (where the
    /// reader stands), unless the length is impossible: too small for BSON,
    /// larger than any record, or running past the end of the file. The
    /// length is checked before anything is allocated.
    fn payload(&mut self, from: u64, length: u32) -> io::Result<Option<&[u8]>> {
        let length = length as usize;
        if !(MIN_BSON..=MAX_RECORD).contains(&length) || length as u64 > self.end - from {
            return Ok(None);
        }
        let mut payload = std::mem::take(&mut self.payload);
        payload.resize(length, 0);
        let read = self.read_exact(&mut payload);
        self.payload = payload;
        Ok(read?.then_some(self.payload.as_slice()))
    }

    /// The offset of the next sync marker at or after `from`, scanning
    /// through the buffer; `None` at the end of the file.
    fn find_sync(&mut self, from: u64) -> io::Result<Option<u64>> {
        self.seek(from)?;
        let marker = u32::from_be_bytes(SYNC);
        let mut window = 0u32;
        let mut seen = 0usize;
        let mut position = from;
        loop {
            if position >= self.end {
                return Ok(None);
            }
            let buffer = match self.reader.fill_buf() {
                Ok(buffer) => buffer,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.cursor = None;
                    return Err(e);
                }
            };
            if buffer.is_empty() {
                // The file shrank under us.
                return Ok(None);
            }
            let usable = buffer.len().min((self.end - position) as usize);
            let found = buffer[..usable].iter().position(|&byte| {
                window = (window << 8) | u32::from(byte);
                seen += 1;
                seen >= SYNC.len() && window == marker
            });
            let consumed = found.map_or(usable, |i| i + 1);
            self.reader.consume(consumed);
            position += consumed as u64;
            self.cursor = Some(position);
            if found.is_some() {
                return Ok(Some(position - SYNC.len() as u64));
            }
        }
    }

    /// Moves the reader to `at`, keeping the buffer when `at` is inside it.
    fn seek(&mut self, at: u64) -> io::Result<()> {
        match self.cursor {
            Some(cursor) if cursor == at => return Ok(()),
            Some(cursor) => {
                let result = self.reader.seek_relative(at as i64 - cursor as i64);
                if let Err(e) = result {
                    self.cursor = None;
                    return Err(e);
                }
            }
            None => {
                self.reader.seek(SeekFrom::Start(at))?;
            }
        }
        self.cursor = Some(at);
        Ok(())
    }

    /// Fills `buffer`; false when the file ends first (it shrank since it
    /// was opened).
    fn read_exact(&mut self, buffer: &mut [u8]) -> io::Result<bool> {
        match self.reader.read_exact(buffer) {
            Ok(()) => {
                self.cursor = self.cursor.map(|c| c + buffer.len() as u64);
                Ok(true)
            }
            Err(e) => {
                self.cursor = None;
                if e.kind() == io::ErrorKind::UnexpectedEof {
                    Ok(false)
                } else {
                    Err(e)
                }
            }
        }
    }
}

impl Iterator for SegmentReader {
    type Item = io::Result<SegmentItem>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(item) = self.pending.take() {
            return Some(Ok(item));
        }
        if self.done {
            return None;
        }
        match self.advance() {
            Ok(Some(item)) => Some(Ok(item)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// Reads until `buffer` is full or the file ends; returns the bytes read.
fn read_up_to(reader: &mut impl Read, buffer: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match reader.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}
