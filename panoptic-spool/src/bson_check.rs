//! Whether bytes are one well-formed BSON document, read once without
//! building anything: replay checks every spooled record before sending it
//! (MongoDB refuses a whole batch for one malformed document), and the
//! `bson` crate's element iterator cost about four times the rest of a
//! replayed event.

/// Whether `bytes` is exactly one well-formed BSON document: every length
/// in bounds, every element type known, keys and strings UTF-8 and
/// NUL-terminated, booleans 0 or 1, nested documents closed where they
/// say. Iterative: a record may nest deeper than a recursion would survive.
pub fn is_well_formed(bytes: &[u8]) -> bool {
    check(bytes, MAX_SCOPES)
}

/// How deep code-with-scope values may nest (each scope is checked by a
/// call of its own); MongoDB stores nothing deeper than 100 levels.
const MAX_SCOPES: u32 = 100;

fn check(bytes: &[u8], scopes_left: u32) -> bool {
    let Some(end) = document_end(bytes, 0) else {
        return false;
    };
    if end != bytes.len() {
        return false;
    }
    // The end (exclusive, after the final NUL) of each open document.
    let mut open = vec![end];
    let mut at = 4;
    while let Some(&closes) = open.last() {
        let kind = bytes[at];
        if kind == 0 {
            // The final NUL: only where the document says it ends.
            if at + 1 != closes {
                return false;
            }
            open.pop();
            at += 1;
            continue;
        }
        let Some(after_key) = cstring_end(bytes, at + 1, closes) else {
            return false;
        };
        let value = after_key;
        let next = match kind {
            0x01 | 0x09 | 0x11 | 0x12 => value.checked_add(8),
            0x07 => value.checked_add(12),
            0x10 => value.checked_add(4),
            0x13 => value.checked_add(16),
            0x06 | 0x0A | 0x7F | 0xFF => Some(value),
            0x08 => match bytes.get(value) {
                Some(0 | 1) => Some(value + 1),
                _ => None,
            },
            0x02 | 0x0D | 0x0E => string_end(bytes, value, closes),
            0x03 | 0x04 => {
                let Some(inner) = document_end(bytes, value).filter(|&e| e < closes) else {
                    return false;
                };
                open.push(inner);
                at = value + 4;
                continue;
            }
            0x05 => binary_end(bytes, value),
            0x0B => cstring_end(bytes, value, closes).and_then(|e| cstring_end(bytes, e, closes)),
            0x0C => string_end(bytes, value, closes).and_then(|e| e.checked_add(12)),
            0x0F if scopes_left > 0 => code_with_scope_end(bytes, value, closes, scopes_left - 1),
            _ => None,
        };
        match next {
            // The parent's final NUL still has to fit.
            Some(next) if next < closes => at = next,
            _ => return false,
        }
    }
    true
}

fn read_i32(bytes: &[u8], at: usize) -> Option<i32> {
    let four = bytes.get(at..at.checked_add(4)?)?;
    Some(i32::from_le_bytes(four.try_into().ok()?))
}

/// The end of the document starting at `at`, by its length field, when
/// that length is possible and its last byte the closing NUL.
fn document_end(bytes: &[u8], at: usize) -> Option<usize> {
    let length = usize::try_from(read_i32(bytes, at)?).ok()?;
    let end = at.checked_add(length).filter(|_| length >= 5)?;
    (bytes.get(end - 1) == Some(&0)).then_some(end)
}

/// Past the NUL of the UTF-8 C string at `at`, which must end before `limit`.
fn cstring_end(bytes: &[u8], at: usize, limit: usize) -> Option<usize> {
    let text = bytes.get(at..limit)?;
    let nul = text.iter().position(|&b| b == 0)?;
    is_utf8(&text[..nul]).then_some(at + nul + 1)
}

/// Keys and most strings are short ASCII, which `from_utf8` (not inlined)
/// takes longer to accept than a plain scan.
#[inline]
fn is_utf8(text: &[u8]) -> bool {
    text.is_ascii() || std::str::from_utf8(text).is_ok()
}

/// Past the length-prefixed UTF-8 string at `at` (its NUL included).
fn string_end(bytes: &[u8], at: usize, limit: usize) -> Option<usize> {
    let length = usize::try_from(read_i32(bytes, at)?).ok()?.checked_sub(1)?;
    let start = at + 4;
    let nul = start.checked_add(length)?;
    if nul >= limit || bytes[nul] != 0 {
        return None;
    }
    is_utf8(&bytes[start..nul]).then_some(nul + 1)
}

/// Past the binary value at `at`: a length, a subtype, the bytes (the
/// old subtype 2 holding its own length again, which must agree).
fn binary_end(bytes: &[u8], at: usize) -> Option<usize> {
    let length = usize::try_from(read_i32(bytes, at)?).ok()?;
    let subtype = *bytes.get(at + 4)?;
    if subtype == 0x02 {
        let inner = usize::try_from(read_i32(bytes, at + 5)?).ok()?;
        if inner.checked_add(4) != Some(length) {
            return None;
        }
    }
    (at + 5).checked_add(length)
}

/// Past JavaScript code with scope at `at`: a total length, the code as a
/// string, then a well-formed scope document filling the rest.
fn code_with_scope_end(bytes: &[u8], at: usize, limit: usize, scopes_left: u32) -> Option<usize> {
    let total = usize::try_from(read_i32(bytes, at)?).ok()?;
    let end = at.checked_add(total).filter(|&e| e < limit)?;
    let scope = string_end(bytes, at + 4, end)?;
    let scope_bytes = bytes.get(scope..end)?;
    check(scope_bytes, scopes_left).then_some(end)
}

#[cfg(test)]
mod tests;
