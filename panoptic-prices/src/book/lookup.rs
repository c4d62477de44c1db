//! Finding what an item names: its table and entry (dated snapshots and
//! fine-tuned models included), the variant a service implies, and the
//! price lists that apply in a region.

use std::ops::Range;

use super::{Entry, PriceBook, PriceList, Table};

impl PriceBook {
    /// Whether the book has a table for `provider`.
    pub fn has_provider(&self, provider: &str) -> bool {
        self.tables.contains_key(provider)
    }
}

impl Table {
    /// The entry `item` names, by the rules of [`PriceBook::price`].
    pub(super) fn resolve(&self, item: &str) -> Option<(&str, &Entry)> {
        let get = |name: &str| {
            self.entries
                .get_key_value(name)
                .map(|(k, v)| (k.as_str(), v))
        };
        if let Some(found) = get(item) {
            return Some(found);
        }
        if let Some(base) = strip_date_suffix(item)
            && let Some(found) = get(base)
        {
            return Some(found);
        }
        // Fine-tuned: `ft:BASE:org:name:id` is priced as its base's
        // fine-tuned entry, dated or not.
        let base = item.strip_prefix("ft:")?.split(':').next()?;
        if let Some(found) = get(&format!("ft:{base}")) {
            return Some(found);
        }
        get(&format!("ft:{}", strip_date_suffix(base)?))
    }

    /// The variant whose `services` list `service`.
    pub(super) fn variant_for_service(&self, service: &str) -> Option<String> {
        self.variants
            .iter()
            .find(|(_, v)| v.services.iter().any(|s| s == service))
            .map(|(name, _)| name.clone())
    }
}

impl PriceList {
    /// Whether the list applies in `region` (a list naming no region
    /// applies everywhere).
    pub(super) fn applies_in(&self, region: Option<&str>) -> bool {
        self.regions.is_empty() || region.is_some_and(|r| self.regions.iter().any(|x| x == r))
    }
}

/// `name` without a trailing `-YYYY-MM-DD`, if it has one.
pub(super) fn strip_date_suffix(name: &str) -> Option<&str> {
    let cut = name.len().checked_sub(11)?;
    let (base, suffix) = (name.get(..cut)?, name.get(cut..)?);
    let b = suffix.as_bytes();
    let digits = |r: Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let dated = b[0] == b'-'
        && digits(1..5)
        && b[5] == b'-'
        && digits(6..8)
        && b[8] == b'-'
        && digits(9..11);
    (dated && !base.is_empty()).then_some(base)
}
