//! Where a book comes from: the tables shipped with the crate, TOML text,
//! and files on disk.

use std::path::Path;
use std::sync::OnceLock;

use super::parse::parse;
use super::{BookError, PriceBook};

/// The shipped tables: provider name and TOML text.
pub(super) const SHIPPED: [(&str, &str); 3] = [
    ("openai", include_str!("../../data/openai.toml")),
    ("aws", include_str!("../../data/aws.toml")),
    (
        "mongodb_atlas",
        include_str!("../../data/mongodb_atlas.toml"),
    ),
];

impl PriceBook {
    /// An empty book (prices nothing).
    pub fn empty() -> PriceBook {
        PriceBook::default()
    }

    /// The tables shipped with the crate, parsed once.
    pub fn shipped() -> &'static PriceBook {
        static BOOK: OnceLock<PriceBook> = OnceLock::new();
        BOOK.get_or_init(|| {
            let mut book = PriceBook::empty();
            for (provider, text) in SHIPPED {
                // A unit test parses every shipped file; a broken edit fails
                // there, and here only that provider goes missing.
                if let Ok(table) = PriceBook::from_toml(provider, text) {
                    book.merge(table);
                }
            }
            book
        })
    }

    /// The TOML text shipped for `provider` (to start an override file or
    /// to refresh it).
    pub fn shipped_toml(provider: &str) -> Option<&'static str> {
        SHIPPED
            .iter()
            .find(|(name, _)| *name == provider)
            .map(|(_, text)| *text)
    }

    /// Parses one provider's table. Errors name `<provider>.toml`.
    pub fn from_toml(provider: &str, text: &str) -> Result<PriceBook, BookError> {
        parse(Some(provider), &format!("{provider}.toml"), text)
    }

    /// Reads a table file whose `provider` key names its provider.
    pub fn from_file(path: &Path) -> Result<PriceBook, BookError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| BookError::new(&name, None, format!("cannot read: {e}")))?;
        parse(None, &name, &text)
    }
}
