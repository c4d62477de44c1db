//! Aligned columns for a terminal: each column as wide as its widest cell,
//! two spaces apart, chosen columns right-aligned, no trailing spaces.

use std::io::{self, Write};
use std::ops::Range;

/// The layout of one table: its header and column widths.
pub struct Table<'a> {
    header: &'a [String],
    widths: Vec<usize>,
    right: Range<usize>,
}

impl<'a> Table<'a> {
    /// A table wide enough for `header` and every row of `rows`; every
    /// column left-aligned.
    pub fn new(header: &'a [String], rows: &[Vec<String>]) -> Table<'a> {
        let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
        for row in rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        Table {
            header,
            widths,
            right: 0..0,
        }
    }

    /// Right-aligns the columns in `columns` (numbers).
    pub fn right_aligned(mut self, columns: Range<usize>) -> Table<'a> {
        self.right = columns;
        self
    }

    /// One row, padded to the columns.
    pub fn line(&self, cells: &[String]) -> String {
        cells
            .iter()
            .zip(&self.widths)
            .enumerate()
            .map(|(i, (cell, width))| {
                if self.right.contains(&i) {
                    format!("{cell:>width$}")
                } else {
                    format!("{cell:<width$}")
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    }

    /// The header's line.
    pub fn header_line(&self) -> String {
        self.line(self.header)
    }

    /// Dashes under each column.
    pub fn rule(&self) -> String {
        self.widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("  ")
    }

    /// The header, a rule under it when `rule`, then every row.
    pub fn write(&self, rows: &[Vec<String>], rule: bool, out: &mut impl Write) -> io::Result<()> {
        writeln!(out, "{}", self.header_line())?;
        if rule {
            writeln!(out, "{}", self.rule())?;
        }
        for row in rows {
            writeln!(out, "{}", self.line(row))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::header;

    #[test]
    fn columns_fit_the_widest_cell_and_numbers_align_right() {
        let header = header(&["name", "n"]);
        let rows = vec![
            vec!["é".to_owned(), "1234".to_owned()],
            vec!["longer".to_owned(), "5".to_owned()],
        ];
        let mut out = Vec::new();
        Table::new(&header, &rows)
            .right_aligned(1..2)
            .write(&rows, true, &mut out)
            .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "name       n\n------  ----\né       1234\nlonger     5\n"
        );
    }

    #[test]
    fn left_aligned_lines_have_no_trailing_spaces() {
        let header = header(&["a", "b"]);
        let rows = vec![vec!["xyz".to_owned(), String::new()]];
        let table = Table::new(&header, &rows);
        assert_eq!(table.header_line(), "a    b");
        assert_eq!(table.line(&rows[0]), "xyz");
    }
}
