//! CSV (RFC 4180): the one quoting rule, and the one rule that makes every
//! cell safe to open in a spreadsheet.
//!
//! Resource names, `metadata.user` and tags come from the programs that
//! record them, so a cell may hold `=HYPERLINK(…)`. Following OWASP's
//! CSV-injection advice, a cell that begins with `=`, `+`, `-`, `@`, a tab
//! or a carriage return gets a `'` before it, so that a spreadsheet shows
//! it as text instead of running it. A plain number (`-0.42`, `1e-9`) is
//! left as it is: it is not a formula, and adjustments are negative. Every
//! CSV the command and the dashboard write goes through [`line`], so no
//! writer can forget the rule.

use std::io::{self, Write};

/// One CSV line: each cell made spreadsheet-safe, then a cell holding a
/// comma, quote or line break is quoted, its quotes doubled.
pub fn line(cells: &[String]) -> String {
    cells
        .iter()
        .map(|cell| {
            let cell = spreadsheet_safe(cell);
            if cell.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", cell.replace('"', "\"\""))
            } else {
                cell
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

/// The characters a spreadsheet may take as the start of a formula.
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// `text` as a spreadsheet will show it, never run it: a leading formula
/// character gets a `'` before it, unless the whole cell is a number.
fn spreadsheet_safe(text: &str) -> String {
    if text.starts_with(FORMULA_START) && !is_number(text) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

/// A plain decimal number: optional sign, digits with at most one point,
/// optional exponent. Nothing else (no spaces, no operators).
fn is_number(text: &str) -> bool {
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(at) => (&body[..at], Some(&body[at + 1..])),
        None => (body, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some((whole, fraction)) => {
            (digits(whole) || whole.is_empty())
                && (digits(fraction) || fraction.is_empty())
                && !(whole.is_empty() && fraction.is_empty())
        }
        None => digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| digits(e.strip_prefix(['-', '+']).unwrap_or(e)));
    mantissa_ok && exponent_ok
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
    fn formulas_are_defused_in_every_line() {
        let cells = [
            "=HYPERLINK(\"http://evil.example/\",\"open\")",
            "+1+1",
            "-1+2",
            "@SUM(A1)",
            "\tx",
            "\rx",
            "BigQuery",
        ]
        .map(String::from);
        assert_eq!(
            line(&cells),
            "\"'=HYPERLINK(\"\"http://evil.example/\"\",\"\"open\"\")\",'+1+1,'-1+2,'@SUM(A1),'\tx,\"'\rx\",BigQuery"
        );
    }

    #[test]
    fn numbers_stay_numbers() {
        for number in ["-0.42", "+3", "-1e-9", "-.5", "12", "-2E+3"] {
            assert_eq!(line(&[number.to_owned()]), number, "{number}");
        }
        for not_number in ["-", "-.", "-1e", "-1-1", "-1 ", "--1", "-e5"] {
            assert_eq!(
                line(&[not_number.to_owned()]),
                format!("'{not_number}"),
                "{not_number:?}"
            );
        }
    }
}
