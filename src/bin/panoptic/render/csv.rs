//! CSV (RFC 4180): the one quoting rule, and what makes a text cell safe
//! to open in a spreadsheet.

use std::io::{self, Write};

/// One CSV line: a cell holding a comma, quote or line break is quoted,
/// its quotes doubled.
pub fn line(cells: &[String]) -> String {
    cells
        .iter()
        .map(|cell| {
            if cell.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", cell.replace('"', "\"\""))
            } else {
                cell.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The header line, then one line per row.
pub fn write(header: &[String], rows: &[Vec<String>], out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "{}", line(header))?;
    for row in rows {
        writeln!(out, "{}", line(row))?;
    }
    Ok(())
}

/// A text cell a spreadsheet will not run as a formula (a leading `=`,
/// `+`, `-`, `@`, tab or carriage return gets a `'` before it), for files
/// people download and open; [`line`] still quotes it.
pub fn spreadsheet_safe(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_that_need_it_are_quoted() {
        let cells = ["plain", "a,b", "say \"hi\"", "two\nlines", ""].map(String::from);
        assert_eq!(
            line(&cells),
            "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\","
        );
    }

    #[test]
    fn formulas_are_defused() {
        assert_eq!(spreadsheet_safe("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(spreadsheet_safe("-1"), "'-1");
        assert_eq!(spreadsheet_safe("BigQuery"), "BigQuery");
    }
}
