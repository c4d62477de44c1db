//! Google's monthly free tiers, taken off where money is summed (reports
//! and reconciliation), never off an event: a free tier belongs to a
//! billing account and a Pacific month, so what one query costs depends on
//! every query of the account before it that month.
//!
//! BigQuery on-demand analysis (the first TiB a month free) is the tier
//! events let us apply: each run's event names its billing account (the
//! client's `billing_account`) and bytes billed. The account's runs are
//! read from the start of each Pacific month in range, in time order; each
//! run's share of the credit is what [`Calculator::free_tier_credits`] says
//! the month's usage so far gains by it. Runs that name no account stay at
//! list price. Usage the account had outside panoptic is not seen, so the
//! credit is the most the free tier can take off, not less.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, TimeZone, Utc};
use chrono_tz::America::Los_Angeles;
use rust_decimal::Decimal;

use panoptic_core::{BillingEvent, Kind};
use panoptic_gcp::bigquery::keys;
use panoptic_gcp::pricing::{BillingMonth, Calculator, MonthlyUsage};

use crate::query::{CostQuery, CostRow, QueryError};

/// The price table's keys of BigQuery on-demand analysis.
const SERVICE_KEY: &str = "bigquery";
const SKU_KEY: &str = "analysis";
/// The event service it is billed under.
const SERVICE: &str = "BigQuery";
const TIB: i64 = 1 << 40;

/// What a billing account's free tier took off in one month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountCredit {
    /// Billing account id.
    pub billing_account: String,
    /// Google's billing month (Pacific).
    pub month: BillingMonth,
    /// Price-table service and SKU (`bigquery`, `analysis`).
    pub sku: (String, String),
    /// Usage the free tier covered, in the SKU's unit (TiB).
    pub free_quantity: Decimal,
    /// Money taken off (positive).
    pub credit: Decimal,
    /// Currency of `credit`.
    pub currency: String,
}

/// The free-tier credits of some events, each as the event it belongs to
/// with the credit as a negative amount, so that any [`CostQuery`] groups
/// them as it groups the events.
#[derive(Debug, Clone, Default)]
pub struct FreeTier {
    credits: Vec<(BillingEvent, Decimal)>,
}

/// The start of the Pacific month `at` falls in, in UTC.
pub fn billing_month_start(at: DateTime<Utc>) -> DateTime<Utc> {
    let day = at.with_timezone(&Los_Angeles).date_naive();
    let first = day.with_day(1).unwrap_or(day);
    let midnight = first.and_hms_opt(0, 0, 0).unwrap_or_default();
    Los_Angeles
        .from_local_datetime(&midnight)
        .earliest()
        .map_or(at, |t| t.with_timezone(&Utc))
}

/// A run the free tier may cover: (account, location, TiB billed).
fn covered(event: &BillingEvent) -> Option<(&str, String, Decimal)> {
    let extra = &event.metadata.extra;
    let on_demand = extra.get_str(keys::PRICING_MODEL).ok() == Some(keys::ON_DEMAND);
    let priced = event.amount.is_some_and(|a| a > Decimal::ZERO);
    if event.provider != "gcp"
        || event.service != SERVICE
        || event.kind != Kind::Invoice
        || !on_demand
        || !priced
    {
        return None;
    }
    let account = extra
        .get_str(keys::BILLING_ACCOUNT)
        .ok()
        .filter(|a| !a.is_empty())?;
    let bytes = match extra.get(keys::BYTES_BILLED)? {
        bson::Bson::Int64(n) => *n,
        bson::Bson::Int32(n) => i64::from(*n),
        bson::Bson::Double(n) if *n >= 0.0 => *n as i64,
        _ => return None,
    };
    if bytes <= 0 {
        return None;
    }
    let location = extra.get_str(keys::LOCATION).unwrap_or("US");
    let tib = Decimal::from(bytes) / Decimal::from(TIB);
    Some((account, location.trim().to_ascii_lowercase(), tib))
}

impl FreeTier {
    /// The credits of `events` (every BigQuery run of the accounts from
    /// the start of each month in question; others are passed over). A
    /// run whose location the table does not price is left at list price.
    pub fn of_events<'a>(
        events: impl IntoIterator<Item = &'a BillingEvent>,
        calculator: &Calculator,
    ) -> FreeTier {
        let mut runs: Vec<(&BillingEvent, &str, String, Decimal)> = events
            .into_iter()
            .filter_map(|e| covered(e).map(|(a, l, t)| (e, a, l, t)))
            .collect();
        runs.sort_by_key(|(e, ..)| (e.ts, e.id));
        // (account, month) -> usage so far, one entry per location.
        let mut months: BTreeMap<(String, BillingMonth), Vec<MonthlyUsage>> = BTreeMap::new();
        let mut credits = Vec::new();
        for (event, account, location, tib) in runs {
            let month = BillingMonth::of(event.ts);
            let Some(first) = month.first_day() else {
                continue;
            };
            if calculator
                .table()
                .price(SERVICE_KEY, SKU_KEY, &location, first)
                .is_err()
            {
                continue;
            }
            let usage = months.entry((account.to_owned(), month)).or_default();
            let before = total_credit(calculator, usage);
            match usage.iter_mut().find(|u| u.region == location) {
                Some(u) => u.quantity += tib,
                None => usage.push(MonthlyUsage {
                    billing_account: account.to_owned(),
                    month,
                    service: SERVICE_KEY.to_owned(),
                    sku: SKU_KEY.to_owned(),
                    region: location,
                    quantity: tib,
                }),
            }
            let gained = total_credit(calculator, usage) - before;
            let amount = event.amount.unwrap_or_default();
            let credit = gained.min(amount).max(Decimal::ZERO);
            if !credit.is_zero() {
                credits.push((event.clone(), credit));
            }
        }
        FreeTier { credits }
    }

    /// Reads what the free tier of `query`'s range needs: every BigQuery
    /// run that names a billing account, in every environment (an account
    /// spans them), from the start of the Pacific month of the range's
    /// start to its end.
    pub async fn read(
        client: &mongodb::Client,
        query: &CostQuery,
        calculator: &Calculator,
    ) -> Result<FreeTier, QueryError> {
        let (since, until) = query.bounds();
        let mut month = CostQuery::new()
            .provider("gcp")
            .service(SERVICE)
            .kind(Kind::Invoice);
        if let Some(since) = since {
            month = month.since(billing_month_start(since));
        }
        if let Some(until) = until {
            month = month.until(until);
        }
        let named = bson::doc! {
            format!("metadata.{}", keys::BILLING_ACCOUNT): { "$exists": true },
        };
        let events = month.events(client, named, None).await?;
        Ok(FreeTier::of_events(&events, calculator))
    }

    /// The credits `query` sees (its filters and range), as rows grouped
    /// as it groups, with negative amounts.
    pub fn rows(&self, query: &CostQuery) -> Vec<CostRow> {
        let events: Vec<BillingEvent> = self.credit_events().collect();
        query.run_on_events(&events)
    }

    /// `rows` (from `query`) with the credits `query` sees taken off the
    /// amounts of the rows they belong to.
    pub fn apply(&self, query: &CostQuery, mut rows: Vec<CostRow>) -> Vec<CostRow> {
        for credit in self.rows(query) {
            match rows
                .iter_mut()
                .find(|r| r.key == credit.key && r.currency == credit.currency)
            {
                Some(row) => row.amount += credit.amount,
                None => rows.push(CostRow {
                    count: 0,
                    errors: 0,
                    ..credit
                }),
            }
        }
        rows
    }

    /// Per account and month, what `query` sees taken off.
    pub fn credits(&self, query: &CostQuery) -> Vec<AccountCredit> {
        type Key = (String, BillingMonth, String);
        let mut out: BTreeMap<Key, (Decimal, Decimal)> = BTreeMap::new();
        for (event, credit) in &self.credits {
            let Some((account, _, tib)) = covered(event).filter(|_| query.matches(event)) else {
                continue;
            };
            // The share of the run the credit covers (its amount is > 0).
            let share = *credit / event.amount.unwrap_or(Decimal::ONE);
            let month = BillingMonth::of(event.ts);
            let entry = out
                .entry((account.to_owned(), month, event.currency.clone()))
                .or_default();
            entry.0 += tib * share;
            entry.1 += *credit;
        }
        out.into_iter()
            .map(
                |((account, month, currency), (free, credit))| AccountCredit {
                    billing_account: account,
                    month,
                    sku: (SERVICE_KEY.to_owned(), SKU_KEY.to_owned()),
                    free_quantity: free.round_dp(9).normalize(),
                    credit: credit.normalize(),
                    currency,
                },
            )
            .collect()
    }

    /// Whether nothing was taken off.
    pub fn is_empty(&self) -> bool {
        self.credits.is_empty()
    }

    /// Each credit as its event with the credit as a negative amount.
    fn credit_events(&self) -> impl Iterator<Item = BillingEvent> + '_ {
        self.credits.iter().map(|(event, credit)| BillingEvent {
            amount: Some(-*credit),
            ..event.clone()
        })
    }
}

/// What the free tier takes off `usage` (one account and month).
fn total_credit(calculator: &Calculator, usage: &[MonthlyUsage]) -> Decimal {
    calculator
        .free_tier_credits(usage)
        .map(|credits| credits.iter().map(|c| c.credit).sum())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
