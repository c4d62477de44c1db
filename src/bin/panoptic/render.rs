//! Output for people and scripts: aligned text tables, CSV, JSON, HTML and
//! Excel workbooks, each format with its one escaping rule. A leaf: the subcommands hand it
//! cells; it knows none of them.

pub mod csv;
pub mod html;
pub mod json;
pub mod number;
pub mod table;
pub mod xlsx;

use clap::ValueEnum;

/// `--format` of tabular output.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    Table,
    /// Comma-separated, with a header.
    Csv,
    /// JSON for scripts: an array, or an object of parts.
    Json,
}

/// Owned header cells from names.
pub fn header(names: &[&str]) -> Vec<String> {
    names.iter().map(|name| (*name).to_owned()).collect()
}
