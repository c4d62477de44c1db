//! What a group adds up: sums, counts, and a histogram of durations in
//! 2 %-wide buckets from which percentiles are read, the same on the
//! server and in memory.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use crate::fields::add_fields;

use super::CostRow;

/// A group: its dimensions' values, and the currency its amounts are in.
pub(crate) type GroupKey = (Vec<String>, String);

/// Sums, counts and the duration histogram of one group.
#[derive(Debug, Default, Clone)]
pub(crate) struct Partial {
    pub(crate) amount: Decimal,
    pub(crate) adjusted: Decimal,
    pub(crate) unpriced: u64,
    pub(crate) quantity: f64,
    pub(crate) count: u64,
    pub(crate) errors: u64,
    /// Events per duration bucket (see [`duration_bucket`]).
    pub(crate) durations: BTreeMap<i64, u64>,
}

/// Buckets per factor e of duration: each is e^(1/50) ≈ 2 % wide, so a
/// bucket's midpoint is within 1 % of any duration in it.
pub(crate) const BUCKETS_PER_E: f64 = 50.0;
/// Durations below this (in ms) share the lowest bucket.
pub(crate) const SMALLEST_MS: f64 = 0.001;

/// The bucket of a duration: the same formula as the server's
/// `$floor(ln(max(d, 0.001)) * 50)`, so both paths agree exactly.
pub(crate) fn duration_bucket(duration_ms: f64) -> i64 {
    (duration_ms.max(SMALLEST_MS).ln() * BUCKETS_PER_E).floor() as i64
}

/// The value a bucket stands for: its geometric midpoint.
pub(crate) fn bucket_value(bucket: i64) -> f64 {
    ((bucket as f64 + 0.5) / BUCKETS_PER_E).exp()
}

pub(crate) fn merge(into: &mut Partial, from: &Partial) {
    add_fields!(into, from; amount, adjusted, quantity, count, errors, unpriced);
    for (&bucket, &events) in &from.durations {
        *into.durations.entry(bucket).or_default() += events;
    }
}

/// Rows sorted by amount, largest first (then by key, for stable output).
pub(crate) fn finish(groups: BTreeMap<GroupKey, Partial>) -> Vec<CostRow> {
    let mut rows: Vec<CostRow> = groups
        .into_iter()
        .map(|((key, currency), partial)| CostRow {
            key,
            currency,
            amount: partial.amount.normalize(),
            adjusted: partial.adjusted.normalize(),
            unpriced: partial.unpriced,
            quantity: partial.quantity,
            count: partial.count,
            errors: partial.errors,
            p50_ms: percentile(&partial.durations, 0.50),
            p95_ms: percentile(&partial.durations, 0.95),
            durations: partial.durations,
        })
        .collect();
    rows.sort_by(|a, b| {
        b.amount
            .cmp(&a.amount)
            .then_with(|| a.key.cmp(&b.key))
            .then_with(|| a.currency.cmp(&b.currency))
    });
    rows
}

/// Nearest-rank percentile over a duration histogram: the midpoint of the
/// bucket holding the event of that rank.
pub(crate) fn percentile(histogram: &BTreeMap<i64, u64>, p: f64) -> Option<f64> {
    let total: u64 = histogram.values().sum();
    if total == 0 {
        return None;
    }
    let rank = ((p * total as f64).ceil() as u64).clamp(1, total);
    let mut seen = 0;
    for (bucket, events) in histogram {
        seen += events;
        if seen >= rank {
            return Some(bucket_value(*bucket));
        }
    }
    None
}

#[cfg(test)]
mod tests;
