//! One group of a window (a rollup's, or an hour of a spool segment's
//! summary): the facts its events share (the dimensions reports filter and
//! group by) and what they add up to, stored compactly (short field names,
//! the duration histogram packed). One definition for both stores.

use std::collections::BTreeMap;

use bson::spec::BinarySubtype;
use bson::{Binary, Bson, Document};
use rust_decimal::Decimal;

use panoptic_core::money::{from_decimal128, to_decimal128};

use chrono::{DateTime, Utc};
use panoptic_core::BillingEvent;

use crate::query::histogram::{GroupKey, Partial, merge};
use crate::query::{CostQuery, Facts, GroupBy};

/// The facts a group's events share. A fact a combination does not keep
/// is empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Dims {
    pub env: String,
    pub provider: String,
    pub username: String,
    pub service: String,
    pub resource: String,
    pub kind: String,
    pub outcome: String,
    pub currency: String,
    /// `metadata.user`.
    pub end_user: String,
    pub tags: Vec<String>,
}

impl Dims {
    /// Every fact of `event`.
    pub(crate) fn of(event: &BillingEvent) -> Dims {
        Dims {
            env: event.env.clone(),
            provider: event.provider.clone(),
            username: event.username.clone(),
            service: event.service.clone(),
            resource: event.resource.clone(),
            kind: event.kind.as_str().to_owned(),
            outcome: event.outcome.as_str().to_owned(),
            currency: event.currency.clone(),
            end_user: event.metadata.user.clone().unwrap_or_default(),
            tags: event.metadata.tags.clone(),
        }
    }
}

impl Facts for Dims {
    fn env(&self) -> &str {
        &self.env
    }
    fn provider(&self) -> &str {
        &self.provider
    }
    fn username(&self) -> &str {
        &self.username
    }
    fn service(&self) -> &str {
        &self.service
    }
    fn resource(&self) -> &str {
        &self.resource
    }
    fn kind(&self) -> &str {
        &self.kind
    }
    fn outcome(&self) -> &str {
        &self.outcome
    }
    fn end_user(&self) -> &str {
        &self.end_user
    }
    fn tags(&self) -> &[String] {
        &self.tags
    }
}

/// Which facts a window keeps: every one (a collection's hour), or one of
/// the two cross-collection combinations (hours and days).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Combo {
    /// Every fact: a collection's hour.
    All,
    /// No user of any kind, no tags: totals by provider, service,
    /// resource, kind, outcome.
    Totals,
    /// Per panoptic user and service: no resource, kind, outcome, end
    /// user or tags.
    Users,
}

impl Combo {
    /// The document field holding this combination's groups.
    pub(crate) const fn field(self) -> &'static str {
        match self {
            Combo::All => "groups",
            Combo::Totals => "totals",
            Combo::Users => "users",
        }
    }

    /// The facts this combination keeps of `dims`.
    pub(crate) fn project(self, dims: &Dims) -> Dims {
        match self {
            Combo::All => dims.clone(),
            Combo::Totals => Dims {
                username: String::new(),
                end_user: String::new(),
                tags: Vec::new(),
                ..dims.clone()
            },
            Combo::Users => Dims {
                env: dims.env.clone(),
                provider: dims.provider.clone(),
                username: dims.username.clone(),
                service: dims.service.clone(),
                currency: dims.currency.clone(),
                ..Dims::default()
            },
        }
    }

    /// True when every filter and dimension of `query` reads only facts
    /// this combination keeps.
    pub(crate) fn covers(self, query: &CostQuery) -> bool {
        let f = query.facts_used();
        match self {
            Combo::All => true,
            Combo::Totals => {
                !(f.username || f.end_user || f.tag || query.dimensions().contains(&GroupBy::User))
            }
            Combo::Users => {
                !(f.resource
                    || f.kind
                    || f.outcome
                    || f.end_user
                    || f.tag
                    || query.dimensions().contains(&GroupBy::Resource))
            }
        }
    }
}

/// Groups of one window, by their facts.
pub(crate) type Groups = BTreeMap<Dims, Partial>;

/// Adds `partial` to the group of `dims`.
pub(crate) fn add(groups: &mut Groups, dims: Dims, partial: Partial) {
    merge(groups.entry(dims).or_default(), &partial);
}

/// A group as stored.
pub(crate) fn to_bson(dims: &Dims, sums: &Partial) -> Document {
    let mut d = Document::new();
    let mut text = |key: &str, value: &str| {
        if !value.is_empty() {
            d.insert(key, value);
        }
    };
    text("e", &dims.env);
    text("p", &dims.provider);
    text("n", &dims.username);
    text("s", &dims.service);
    text("r", &dims.resource);
    text("k", &dims.kind);
    text("o", &dims.outcome);
    text("$", &dims.currency);
    text("u", &dims.end_user);
    if !dims.tags.is_empty() {
        d.insert("g", dims.tags.clone());
    }
    if !sums.amount.is_zero() {
        d.insert("a", to_decimal128(sums.amount));
    }
    if !sums.adjusted.is_zero() {
        d.insert("j", to_decimal128(sums.adjusted));
    }
    d.insert("q", sums.quantity);
    d.insert("c", sums.count as i64);
    d.insert("x", sums.errors as i64);
    d.insert("z", sums.unpriced as i64);
    if !sums.durations.is_empty() {
        d.insert(
            "h",
            Binary {
                subtype: BinarySubtype::Generic,
                bytes: pack(&sums.durations),
            },
        );
    }
    d
}

/// A stored group read back.
pub(crate) fn from_bson(d: &Document) -> Result<(Dims, Partial), String> {
    let money = |key: &str| match d.get(key) {
        Some(Bson::Decimal128(v)) => from_decimal128(*v).map_err(|e| e.to_string()),
        None => Ok(Decimal::ZERO),
        Some(other) => Err(format!("rollup field {key} is {other}")),
    };
    let count = |key: &str| match d.get(key) {
        Some(Bson::Int64(v)) => *v as u64,
        Some(Bson::Int32(v)) => *v as u64,
        _ => 0,
    };
    let durations = match d.get("h") {
        Some(Bson::Binary(b)) => unpack(&b.bytes)?,
        _ => BTreeMap::new(),
    };
    let currency = d.get_str("$").unwrap_or_default().to_owned();
    Ok((
        dims_from(d, currency),
        Partial {
            amount: money("a")?,
            adjusted: money("j")?,
            quantity: d.get_f64("q").unwrap_or_default(),
            count: count("c"),
            errors: count("x"),
            unpriced: count("z"),
            durations,
        },
    ))
}

/// The facts under their short names (`e`, `p`, `n`, …): in a stored
/// group, and in the `_id` of the aggregation that builds one.
pub(crate) fn dims_from(d: &Document, currency: String) -> Dims {
    let text = |key: &str| d.get_str(key).unwrap_or_default().to_owned();
    let tags = match d.get("g") {
        Some(Bson::Array(tags)) => tags
            .iter()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect(),
        Some(Bson::String(tag)) => vec![tag.clone()],
        _ => Vec::new(),
    };
    Dims {
        env: text("e"),
        provider: text("p"),
        username: text("n"),
        service: text("s"),
        resource: text("r"),
        kind: text("k"),
        outcome: text("o"),
        currency,
        end_user: text("u"),
        tags,
    }
}

/// The groups a window stores under `field`.
pub(crate) fn stored(
    window: &Document,
    field: &str,
) -> impl Iterator<Item = Result<(Dims, Partial), String>> {
    window
        .get_array(field)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(Bson::as_document)
        .map(from_bson)
}

/// A histogram as bytes: per bucket, the gap from the previous one
/// (zigzag) and the count, as LEB128 varints — a few bytes a bucket, where
/// a BSON array would take twenty.
fn pack(histogram: &BTreeMap<i64, u64>) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(histogram.len() * 3);
    let mut previous = 0_i64;
    for (&bucket, &count) in histogram {
        let gap = bucket - previous;
        previous = bucket;
        varint(&mut bytes, ((gap << 1) ^ (gap >> 63)) as u64);
        varint(&mut bytes, count);
    }
    bytes
}

fn varint(bytes: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        bytes.push((value as u8) | 0x80);
        value >>= 7;
    }
    bytes.push(value as u8);
}

fn unpack(bytes: &[u8]) -> Result<BTreeMap<i64, u64>, String> {
    let mut histogram = BTreeMap::new();
    unpack_into(bytes, &mut histogram)?;
    Ok(histogram)
}

/// Adds a packed histogram's counts into `histogram`.
pub(crate) fn unpack_into(bytes: &[u8], histogram: &mut BTreeMap<i64, u64>) -> Result<(), String> {
    for_each_bucket(bytes, |bucket, count| {
        *histogram.entry(bucket).or_default() += count;
    })
}

/// Whether a packed histogram reads back whole (nothing is added).
pub(crate) fn check_packed(bytes: &[u8]) -> Result<(), String> {
    for_each_bucket(bytes, |_, _| {})
}

/// Hands each bucket of a packed histogram and its count to `each`.
fn for_each_bucket(bytes: &[u8], mut each: impl FnMut(i64, u64)) -> Result<(), String> {
    let mut at = 0;
    let mut next = || -> Result<Option<u64>, String> {
        if at == bytes.len() {
            return Ok(None);
        }
        let mut value = 0_u64;
        for shift in (0..64).step_by(7) {
            let byte = *bytes.get(at).ok_or("a rollup histogram is cut short")?;
            at += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Ok(Some(value));
            }
        }
        Err("a rollup histogram holds a varint longer than 64 bits".to_owned())
    };
    let mut bucket = 0_i64;
    while let Some(zigzag) = next()? {
        let gap = ((zigzag >> 1) as i64) ^ -((zigzag & 1) as i64);
        bucket = bucket.wrapping_add(gap);
        let count = next()?.ok_or("a rollup histogram ends between a bucket and its count")?;
        each(bucket, count);
    }
    Ok(())
}

/// A stored group read in place: its facts borrowed from the window's
/// bytes, its histogram still packed. The reader adds thousands of these
/// per query; nothing is copied that the answer does not keep.
pub(crate) struct RawGroup<'a> {
    pub dims: RawDims<'a>,
    pub amount: Decimal,
    pub adjusted: Decimal,
    pub quantity: f64,
    pub count: u64,
    pub errors: u64,
    pub unpriced: u64,
    pub histogram: &'a [u8],
}

impl RawGroup<'_> {
    /// The group owned: its facts copied, its histogram unpacked.
    pub(crate) fn owned(&self) -> Result<(Dims, Partial), String> {
        let d = &self.dims;
        let dims = Dims {
            env: d.env.to_owned(),
            provider: d.provider.to_owned(),
            username: d.username.to_owned(),
            service: d.service.to_owned(),
            resource: d.resource.to_owned(),
            kind: d.kind.to_owned(),
            outcome: d.outcome.to_owned(),
            currency: d.currency.to_owned(),
            end_user: d.end_user.to_owned(),
            tags: d.tags.clone(),
        };
        let sums = Partial {
            amount: self.amount,
            adjusted: self.adjusted,
            quantity: self.quantity,
            count: self.count,
            errors: self.errors,
            unpriced: self.unpriced,
            durations: unpack(self.histogram)?,
        };
        Ok((dims, sums))
    }
}

/// [`Dims`], borrowed.
#[derive(Default)]
pub(crate) struct RawDims<'a> {
    pub env: &'a str,
    pub provider: &'a str,
    pub username: &'a str,
    pub service: &'a str,
    pub resource: &'a str,
    pub kind: &'a str,
    pub outcome: &'a str,
    pub currency: &'a str,
    pub end_user: &'a str,
    pub tags: Vec<String>,
}

impl Facts for RawDims<'_> {
    fn env(&self) -> &str {
        self.env
    }
    fn provider(&self) -> &str {
        self.provider
    }
    fn username(&self) -> &str {
        self.username
    }
    fn service(&self) -> &str {
        self.service
    }
    fn resource(&self) -> &str {
        self.resource
    }
    fn kind(&self) -> &str {
        self.kind
    }
    fn outcome(&self) -> &str {
        self.outcome
    }
    fn end_user(&self) -> &str {
        self.end_user
    }
    fn tags(&self) -> &[String] {
        &self.tags
    }
}

/// Adds a stored group of a window starting at `start` to `query`'s
/// groups, if its facts pass the query's filters: its time values are
/// those of `start` (the window lies within one value of each).
pub(crate) fn add_raw(
    query: &CostQuery,
    groups: &mut BTreeMap<GroupKey, Partial>,
    g: RawGroup<'_>,
    start: DateTime<Utc>,
) -> Result<(), String> {
    let Some(into) = group_of(query, groups, &g.dims, g.dims.currency, start) else {
        return Ok(());
    };
    into.amount += g.amount;
    into.adjusted += g.adjusted;
    into.quantity += g.quantity;
    into.count += g.count;
    into.errors += g.errors;
    into.unpriced += g.unpriced;
    unpack_into(g.histogram, &mut into.durations)
}

/// Adds a group held in memory (a long-lived reader's summaries, see
/// `spool_summary::cache`) of a window starting at `start`, as [`add_raw`].
pub(crate) fn add_held(
    query: &CostQuery,
    groups: &mut BTreeMap<GroupKey, Partial>,
    dims: &Dims,
    sums: &Partial,
    start: DateTime<Utc>,
) {
    if let Some(into) = group_of(query, groups, dims, &dims.currency, start) {
        merge(into, sums);
    }
}

/// The query's group that a window's group with these facts falls in, if
/// they pass the query's filters.
fn group_of<'g>(
    query: &CostQuery,
    groups: &'g mut BTreeMap<GroupKey, Partial>,
    facts: &impl Facts,
    currency: &str,
    start: DateTime<Utc>,
) -> Option<&'g mut Partial> {
    if !query.matches_facts(facts) {
        return None;
    }
    let key = query
        .dimensions()
        .iter()
        .map(|by| by.value_at(facts, start, query.zone()))
        .collect();
    Some(groups.entry((key, currency.to_owned())).or_default())
}

/// Each group a raw window stores under `field`, read in place.
pub(crate) fn for_each_raw<'a>(
    window: &'a bson::RawDocument,
    field: &str,
    mut each: impl FnMut(RawGroup<'a>) -> Result<(), String>,
) -> Result<(), String> {
    // A window without the field (overflowed, or a level that does not
    // keep this combination) has no groups to give.
    let groups = match window.get_array(field) {
        Ok(groups) => groups,
        Err(e) if matches!(e.kind, bson::raw::ValueAccessErrorKind::NotPresent) => return Ok(()),
        Err(e) => return Err(format!("a rollup window's {field}: {e}")),
    };
    for group in groups {
        let group = group.map_err(|e| e.to_string())?;
        let Some(g) = group.as_document() else {
            continue;
        };
        let mut dims = RawDims::default();
        let mut raw = RawGroup {
            dims: RawDims::default(),
            amount: Decimal::ZERO,
            adjusted: Decimal::ZERO,
            quantity: 0.0,
            count: 0,
            errors: 0,
            unpriced: 0,
            histogram: &[],
        };
        for element in g {
            let (key, value) = element.map_err(|e| e.to_string())?;
            let count = || match value {
                bson::RawBsonRef::Int64(v) => v as u64,
                bson::RawBsonRef::Int32(v) => v as u64,
                _ => 0,
            };
            let money = || match value {
                bson::RawBsonRef::Decimal128(v) => from_decimal128(v).map_err(|e| e.to_string()),
                other => Err(format!("rollup amount is {other:?}")),
            };
            let text = value.as_str().unwrap_or_default();
            match key {
                "e" => dims.env = text,
                "p" => dims.provider = text,
                "n" => dims.username = text,
                "s" => dims.service = text,
                "r" => dims.resource = text,
                "k" => dims.kind = text,
                "o" => dims.outcome = text,
                "$" => dims.currency = text,
                "u" => dims.end_user = text,
                "g" => {
                    if let Some(tags) = value.as_array() {
                        dims.tags = tags
                            .into_iter()
                            .filter_map(|t| t.ok()?.as_str().map(str::to_owned))
                            .collect();
                    }
                }
                "a" => raw.amount = money()?,
                "j" => raw.adjusted = money()?,
                "q" => raw.quantity = value.as_f64().unwrap_or_default(),
                "c" => raw.count = count(),
                "x" => raw.errors = count(),
                "z" => raw.unpriced = count(),
                "h" => {
                    if let bson::RawBsonRef::Binary(b) = value {
                        raw.histogram = b.bytes;
                    }
                }
                _ => {}
            }
        }
        raw.dims = dims;
        each(raw)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_round_trips_through_its_stored_form() {
        let dims = Dims {
            env: "prod".into(),
            provider: "openai".into(),
            username: "alice".into(),
            service: "ChatCompletions".into(),
            resource: "summarize".into(),
            kind: "billing".into(),
            outcome: "ok".into(),
            currency: "EUR".into(),
            end_user: "customer-7".into(),
            tags: vec!["beta".into(), "eu".into()],
        };
        let sums = Partial {
            amount: Decimal::new(123_456, 6),
            adjusted: Decimal::new(-7, 2),
            quantity: 12.5,
            count: 40,
            errors: 3,
            unpriced: 2,
            durations: BTreeMap::from([(-345, 1), (-2, 7), (0, 1), (212, 30), (9_000, 1)]),
        };
        let (back_dims, back) = from_bson(&to_bson(&dims, &sums)).unwrap();
        assert_eq!(back_dims, dims);
        assert_eq!(back.amount, sums.amount);
        assert_eq!(back.adjusted, sums.adjusted);
        assert_eq!(back.durations, sums.durations);
        assert_eq!((back.count, back.errors, back.unpriced), (40, 3, 2));
    }

    #[test]
    fn a_cut_histogram_is_an_error_not_a_guess() {
        let bytes = pack(&BTreeMap::from([(300, 100_000)]));
        assert!(unpack(&bytes[..bytes.len() - 1]).is_err());
    }
}
