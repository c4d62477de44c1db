//! Cloud Storage classes, each a SKU of the table.

use std::fmt;
use std::str::FromStr;

use crate::pricing::PricingError;

/// Cloud Storage classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StorageClass {
    /// Standard.
    Standard,
    /// Nearline (30-day minimum).
    Nearline,
    /// Coldline (90-day minimum).
    Coldline,
    /// Archive (365-day minimum).
    Archive,
}

impl StorageClass {
    /// All classes.
    pub const ALL: [StorageClass; 4] = [
        StorageClass::Standard,
        StorageClass::Nearline,
        StorageClass::Coldline,
        StorageClass::Archive,
    ];

    /// The SKU key in the price table.
    pub fn sku(self) -> &'static str {
        match self {
            StorageClass::Standard => "standard",
            StorageClass::Nearline => "nearline",
            StorageClass::Coldline => "coldline",
            StorageClass::Archive => "archive",
        }
    }
}

impl fmt::Display for StorageClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.sku().to_ascii_uppercase())
    }
}

impl FromStr for StorageClass {
    type Err = PricingError;

    /// `STANDARD`, `nearline`, … (as the Storage API spells them, any case).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lc = s.trim().to_ascii_lowercase();
        StorageClass::ALL
            .into_iter()
            .find(|c| c.sku() == lc)
            .ok_or_else(|| PricingError::UnknownClass {
                what: "Cloud Storage class",
                given: s.to_owned(),
                valid: StorageClass::ALL.iter().map(ToString::to_string).collect(),
            })
    }
}
