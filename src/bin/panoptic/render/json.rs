//! JSON for scripts: one pretty-printed array or object and a newline.
//! Amounts go in as strings (JSON numbers are floats to most readers); the
//! callers make them so.

use std::io::{self, Write};

use serde_json::Value;

/// `items` as one JSON array.
pub fn write(items: &[Value], out: &mut impl Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, items).map_err(io::Error::other)?;
    writeln!(out)
}

/// One JSON value (an object of several parts), pretty-printed.
pub fn write_value(value: &Value, out: &mut impl Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value).map_err(io::Error::other)?;
    writeln!(out)
}
