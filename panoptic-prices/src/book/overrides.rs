//! Books merged over one another: the override files named in
//! `PANOPTIC_PRICES` over the shipped book.

use std::sync::OnceLock;

use super::{BookError, PriceBook};

/// The environment variable naming override files (several joined like
/// `PATH`).
pub const OVERRIDES_ENV: &str = "PANOPTIC_PRICES";

impl PriceBook {
    /// The one book calls are priced with, in this process: the shipped
    /// tables with `PANOPTIC_PRICES` merged over them, read once. An
    /// override that cannot be read is said once on stderr, and the
    /// shipped book is used (pricing must not stop the program).
    pub fn current() -> &'static PriceBook {
        static BOOK: OnceLock<PriceBook> = OnceLock::new();
        BOOK.get_or_init(|| match PriceBook::with_overrides_from_env() {
            Ok(book) => book,
            Err(error) => {
                use std::io::Write;
                // A closed stderr must not panic the caller.
                let _ = writeln!(
                    std::io::stderr().lock(),
                    "panoptic: {error}; using the shipped price book"
                );
                PriceBook::shipped().clone()
            }
        })
    }

    /// The shipped book with the files named in `PANOPTIC_PRICES` merged
    /// over it, in order. Unset or empty: the shipped book.
    pub fn with_overrides_from_env() -> Result<PriceBook, BookError> {
        let mut book = PriceBook::shipped().clone();
        if let Some(paths) = std::env::var_os(OVERRIDES_ENV) {
            for path in std::env::split_paths(&paths) {
                if path.as_os_str().is_empty() {
                    continue;
                }
                book.merge(PriceBook::from_file(&path)?);
            }
        }
        Ok(book)
    }

    /// Merges `other` over this book: its entries and variants replace
    /// those of the same name (a whole entry, history included).
    pub fn merge(&mut self, other: PriceBook) {
        for (provider, table) in other.tables {
            match self.tables.get_mut(&provider) {
                None => {
                    self.tables.insert(provider, table);
                }
                Some(mine) => {
                    mine.files.extend(table.files);
                    mine.variants.extend(table.variants);
                    mine.entries.extend(table.entries);
                }
            }
        }
    }
}
