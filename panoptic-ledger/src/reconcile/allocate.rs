//! Turning each row's difference into `kind: "adjustment"` events, spread
//! over the day's resources and users in proportion to their estimate (or
//! to their calls, for a cost nobody's calls were priced for, such as a
//! fixed cluster; see [`Share`](super::Share)), with ids that a rerun
//! reproduces.

use bson::oid::ObjectId;
use bson::{Document, doc};
use rust_decimal::Decimal;

use super::{ANY, Reconciliation, Report, normalize_value};
use crate::query::{CostQuery, CostRow, GroupBy, QueryError};
use panoptic_catalog::Provider;
use panoptic_core::money::to_decimal128;
use panoptic_core::{BillingEvent, Category, Kind, Metadata, Outcome};

/// How the estimates are grouped to share a difference out.
const SHARE_DIMS: [GroupBy; 5] = [
    GroupBy::Day,
    GroupBy::Service,
    GroupBy::Resource,
    GroupBy::User,
    GroupBy::Env,
];

/// The tag every adjustment carries (`metadata.tags`).
pub const ADJUSTMENT_TAG: &str = "reconcile";

/// Where a difference that no recorded call shares is booked: billed
/// usage panoptic never saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fallback {
    /// Environment (database) of those adjustments.
    pub env: String,
    /// Username (collection) of those adjustments.
    pub username: String,
    /// Their resource.
    pub resource: String,
}

impl Default for Fallback {
    fn default() -> Self {
        Fallback {
            env: "prod".into(),
            username: "reconcile".into(),
            resource: "(unattributed)".into(),
        }
    }
}

/// A deterministic event id from `parts`: the same parts always give the
/// same id, so a rerun replaces what it wrote instead of adding to it.
/// FNV-1a (64 bits) and CRC-32 of the parts make the 12 bytes; an id, not
/// a secret, so no cryptographic hash is needed.
///
/// ```
/// use panoptic_ledger::reconcile::adjustment_id;
/// assert_eq!(adjustment_id(&["gcp", "2026-11-02", "a"]), adjustment_id(&["gcp", "2026-11-02", "a"]));
/// assert_ne!(adjustment_id(&["gcp", "2026-11-02", "a"]), adjustment_id(&["gcp", "2026-11-02a", ""]));
/// ```
pub fn adjustment_id(parts: &[&str]) -> ObjectId {
    let mut bytes = Vec::new();
    for part in parts {
        // Length-prefixed, so ("ab","c") and ("a","bc") differ.
        bytes.extend_from_slice(&(part.len() as u64).to_le_bytes());
        bytes.extend_from_slice(part.as_bytes());
    }
    let mut fnv: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in &bytes {
        fnv ^= u64::from(*byte);
        fnv = fnv.wrapping_mul(0x0100_0000_01b3);
    }
    let crc = crc32fast::hash(&bytes);
    let mut id = [0u8; 12];
    id[..8].copy_from_slice(&fnv.to_be_bytes());
    id[8..].copy_from_slice(&crc.to_be_bytes());
    ObjectId::from_bytes(id)
}

impl Reconciliation {
    /// The estimates per day, service, resource, user and env that
    /// [`adjustments`](Self::adjustments) shares differences over.
    pub fn share_query(&self, base: &CostQuery) -> CostQuery {
        self.query(base).group_by(SHARE_DIMS)
    }

    /// Runs [`share_query`](Self::share_query) on MongoDB.
    pub async fn shares(
        &self,
        client: &mongodb::Client,
        base: &CostQuery,
    ) -> Result<Vec<CostRow>, QueryError> {
        self.share_query(base).run(client).await
    }

    /// One adjustment per row and caller: each row's difference split by
    /// the callers' estimated amounts (by their calls when none was
    /// priced; by calls or quantity with [`share_by`](Self::share_by)), the rounding remainder on the largest share, so that the
    /// adjustments of a row sum to its difference exactly. A row no
    /// caller shares goes to `fallback`.
    pub fn adjustments(
        &self,
        report: &Report,
        shares: &[CostRow],
        fallback: &Fallback,
    ) -> Vec<BillingEvent> {
        let mut events = Vec::new();
        let shares = self.in_report_currency(report, shares);
        // A row in another currency than the bill's was not compared; a
        // late day's bill is still arriving.
        let compared = report.rows.iter().filter(|r| {
            r.currency == report.currency
                && !r.difference.is_zero()
                && (self.include_late || !r.is_late())
        });
        for row in compared {
            let callers: Vec<&CostRow> = shares
                .iter()
                .filter(|s| s.count > 0 && matches(&report.by, &row.key, s))
                .collect();
            let day = row.key[0].parse().unwrap_or(self.start());
            let weights = self.share.weights(&callers);
            let total: Decimal = weights.iter().sum();
            let row_key = row.key.join("\u{1f}");
            let basis = report.basis.as_str();
            let note = |share: Decimal| {
                let mut note = doc! {
                    "basis": basis,
                    "estimate": to_decimal128(row.estimate),
                    "billed": to_decimal128(match report.basis {
                        super::Basis::List => row.list,
                        super::Basis::Net => row.net,
                    }),
                    "difference": to_decimal128(row.difference),
                    "share": share.round_dp(6).to_string(),
                };
                // On the net basis the difference holds the bill's credits:
                // this share of them, so that an export can book it as a
                // credit (FOCUS `Credit`) apart from the correction.
                if matches!(report.basis, super::Basis::Net) && !row.credits.is_zero() {
                    note.insert("credit", to_decimal128((row.credits * share).round_dp(12)));
                }
                note
            };
            if callers.is_empty() || total.is_zero() {
                let service = service_of(&report.by, &row.key);
                let id = adjustment_id(&[
                    &self.provider,
                    &fallback.env,
                    &row_key,
                    &service,
                    &fallback.resource,
                    &fallback.username,
                ]);
                events.push(self.event(
                    &report.currency,
                    id,
                    day,
                    &service,
                    &fallback.resource,
                    &fallback.username,
                    &fallback.env,
                    row.difference,
                    note(Decimal::ONE),
                ));
                continue;
            }
            let mut portions: Vec<Decimal> = weights
                .iter()
                .map(|w| (row.difference * *w / total).round_dp(12))
                .collect();
            let largest = (0..weights.len())
                .max_by(|a, b| weights[*a].cmp(&weights[*b]))
                .unwrap_or(0);
            let spread: Decimal = portions.iter().sum();
            portions[largest] += row.difference - spread;
            for ((caller, portion), weight) in callers.iter().zip(portions).zip(&weights) {
                let [_, service, resource, user, env] = &caller.key[..] else {
                    continue;
                };
                let id = adjustment_id(&[&self.provider, env, &row_key, service, resource, user]);
                events.push(self.event(
                    &report.currency,
                    id,
                    day,
                    service,
                    resource,
                    user,
                    env,
                    portion.normalize(),
                    note(*weight / total),
                ));
            }
        }
        events
    }

    /// Each caller once, its amounts in the report's currency (through
    /// the rates; an amount no rate converts weighs nothing), its calls and
    /// quantity whatever their currency.
    fn in_report_currency(&self, report: &Report, shares: &[CostRow]) -> Vec<CostRow> {
        let mut callers: std::collections::BTreeMap<Vec<String>, CostRow> = Default::default();
        for share in shares {
            let day = share
                .key
                .first()
                .and_then(|d| d.parse().ok())
                .unwrap_or(self.start());
            let convert = |amount: Decimal| {
                self.rates
                    .convert(amount, &share.currency, &report.currency, day)
                    .map_or(Decimal::ZERO, |(value, _)| value)
            };
            let caller = callers.entry(share.key.clone()).or_insert_with(|| CostRow {
                currency: report.currency.clone(),
                amount: Decimal::ZERO,
                adjusted: Decimal::ZERO,
                unpriced: 0,
                quantity: 0.0,
                count: 0,
                errors: 0,
                ..share.clone()
            });
            caller.amount += convert(share.amount);
            caller.adjusted += convert(share.adjusted);
            caller.unpriced += share.unpriced;
            caller.quantity += share.quantity;
            caller.count += share.count;
            caller.errors += share.errors;
        }
        callers.into_values().collect()
    }

    #[allow(clippy::too_many_arguments)]
    fn event(
        &self,
        currency: &str,
        id: ObjectId,
        day: chrono::NaiveDate,
        service: &str,
        resource: &str,
        username: &str,
        env: &str,
        amount: Decimal,
        note: Document,
    ) -> BillingEvent {
        let mut extra = Document::new();
        extra.insert("reconcile", note);
        BillingEvent {
            id,
            ts: self.day_start(day),
            project_id: None,
            env: env.to_owned(),
            username: username.to_owned(),
            category: Provider::parse(&self.provider)
                .map_or(Category::Infra, |p| p.category_of(service)),
            provider: self.provider.clone(),
            service: service.to_owned(),
            resource: resource.to_owned(),
            kind: Kind::Adjustment,
            outcome: Outcome::Ok,
            quantity: 0.0,
            unit: currency.into(),
            amount: Some(amount),
            currency: currency.into(),
            metadata: Metadata {
                tags: vec![ADJUSTMENT_TAG.to_owned()],
                extra,
                ..Metadata::default()
            },
        }
    }
}

/// Whether a share row (keyed by [`SHARE_DIMS`]) falls in a report row.
fn matches(by: &[GroupBy], key: &[String], share: &CostRow) -> bool {
    by.iter().zip(key).all(|(dimension, value)| {
        if value == ANY {
            return true;
        }
        SHARE_DIMS
            .iter()
            .position(|d| d == dimension)
            .is_some_and(|i| {
                normalize_value(*dimension, &share.key[i]) == normalize_value(*dimension, value)
            })
    })
}

/// The row's service, or the provider-wide `*` when the bill has none.
fn service_of(by: &[GroupBy], key: &[String]) -> String {
    by.iter()
        .position(|d| *d == GroupBy::Service)
        .map_or_else(|| ANY.to_owned(), |i| key[i].clone())
}
