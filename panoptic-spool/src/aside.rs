//! Setting segments aside: a segment that is neither safe to replay nor
//! safe to delete is moved, intact, out of the replay path.

use std::ffi::OsString;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::{create_private_dir, private_file};

/// Sub-folder of the spool holding set-aside segments.
const ASIDE_DIR: &str = "aside";
/// Extension of the file beside each set-aside segment giving the reason.
const WHY: &str = "why";

/// Moves the segment at `path` into `aside/` beside it, under the same
/// name (a numbered one if that is taken), and writes the reason, on one
/// line, to `{name}.why`. Returns the new path. Nothing is deleted: a
/// person, or `panoptic replay --retry-set-aside`, decides later.
pub fn set_aside(path: &Path, reason: &str) -> io::Result<PathBuf> {
    let name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not a file", path.display()),
        )
    })?;
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let folder = dir.join(ASIDE_DIR);
    create_private_dir(&folder)?;
    let target = free_name(&folder, name);
    let why = why_path(&target);
    let line: String = reason
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    private_file()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&why)
        .and_then(|mut file| writeln!(file, "{line}"))?;
    if let Err(error) = fs::rename(path, &target) {
        let _ = fs::remove_file(&why);
        return Err(error);
    }
    // Readers no longer read it; a restored segment gets a new summary.
    // One left behind is harmless: it never matches another segment.
    let _ = super::remove_summary(path);
    Ok(target)
}

/// How many segments are set aside in the spool at `dir`.
pub(super) fn count(dir: &Path) -> io::Result<usize> {
    Ok(set_aside_files(dir)?.len())
}

/// The set-aside segments of the spool at `dir`, oldest first, with their
/// reasons.
pub(super) fn list(dir: &Path) -> io::Result<Vec<(PathBuf, String)>> {
    let mut listed = Vec::new();
    for path in set_aside_files(dir)? {
        let reason = match fs::read_to_string(why_path(&path)) {
            Ok(text) => text.trim_end().to_owned(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => "no reason recorded".to_owned(),
            Err(e) => return Err(e),
        };
        listed.push((path, reason));
    }
    Ok(listed)
}

/// Moves every set-aside segment back into the spool at `dir` (under a
/// numbered name if its own is taken) and drops its reason; returns how
/// many were moved.
pub(super) fn restore(dir: &Path) -> io::Result<usize> {
    let mut restored = 0;
    for path in set_aside_files(dir)? {
        let Some(name) = path.file_name() else {
            continue;
        };
        let target = free_name(dir, name);
        match fs::rename(&path, &target) {
            Ok(()) => restored += 1,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        }
        match fs::remove_file(why_path(&path)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(restored)
}

/// The files of `aside/` other than reasons, sorted by name.
fn set_aside_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    super::files_where(&dir.join(ASIDE_DIR), |p| {
        p.extension().is_none_or(|e| e != WHY)
    })
}

/// `{path}.why`.
fn why_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(WHY);
    PathBuf::from(name)
}

/// `folder/name` if free, else `folder/{stem}-{n}.{extension}` for the
/// first free `n`, so nothing is overwritten.
fn free_name(folder: &Path, name: &std::ffi::OsStr) -> PathBuf {
    let first = folder.join(name);
    if !first.exists() {
        return first;
    }
    let name = Path::new(name);
    let stem = name.file_stem().unwrap_or_default();
    (1u64..)
        .map(|n| {
            let mut candidate = OsString::from(stem);
            candidate.push(format!("-{n}"));
            if let Some(extension) = name.extension() {
                candidate.push(".");
                candidate.push(extension);
            }
            folder.join(candidate)
        })
        .find(|candidate| !candidate.exists())
        .expect("some number is free")
}
