//! What a reconciliation is made of: the bill's lines, the rows that set
//! them beside the estimates, and the report.

use super::Reason;
use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::fields::{add_fields, text_setters};
use crate::query::GroupBy;

/// One line of a provider's bill: a day's cost of one service (and
/// resource, user, SKU when the bill can tell).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillLine {
    /// Provider (`gcp`, `aws`, `openai`).
    pub provider: String,
    /// The usage day, in the bill's time zone.
    pub day: NaiveDate,
    /// The service as panoptic names it (`BigQuery`, `S3`), when the bill
    /// says.
    pub service: Option<String>,
    /// The panoptic resource, from a label or cost-allocation tag.
    pub resource: Option<String>,
    /// The panoptic username, from a label.
    pub user: Option<String>,
    /// SKU or line item (`gpt-4o-mini-2024-07-18, input`): shown as detail.
    pub detail: Option<String>,
    /// Cost at list price, before credits.
    pub list: Decimal,
    /// Credits (zero or negative).
    pub credits: Decimal,
    /// Credits per type (`FREE_TIER`, `PROMOTION`, …).
    pub credits_by_type: Vec<(String, Decimal)>,
    /// What is paid: list plus credits (and any discount the bill applies).
    pub net: Decimal,
    /// Currency (`USD`).
    pub currency: String,
    /// The provider says this amount may still change (Cost Explorer's
    /// `Estimated`): the day is late, whatever its age.
    pub estimated: bool,
}

impl BillLine {
    /// A line of `list` and `net` (credits are their difference) in USD.
    pub fn new(provider: impl Into<String>, day: NaiveDate, list: Decimal, net: Decimal) -> Self {
        BillLine {
            provider: provider.into(),
            day,
            service: None,
            resource: None,
            user: None,
            detail: None,
            list,
            credits: net - list,
            credits_by_type: Vec::new(),
            net,
            currency: "USD".into(),
            estimated: false,
        }
    }

    text_setters! {
        /// The same line for this service.
        service;
        /// The same line for this resource.
        resource;
        /// The same line for this user.
        user;
        /// The same line with a SKU or line item.
        detail;
    }
}

/// Which billed amount the estimate is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Basis {
    /// The list price: what panoptic's per-call amounts are (credits are
    /// reported, not counted as a difference).
    #[default]
    List,
    /// What is paid, after credits: the amount `apply` allocates then.
    Net,
}

impl Basis {
    /// `list` or `net`.
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::List => "list",
            Basis::Net => "net",
        }
    }
}

/// One day and group: the estimate beside the bill.
#[derive(Debug, Clone, PartialEq)]
pub struct ReconRow {
    /// The group's value per dimension of [`Report::by`] ([`ANY`](super::ANY) where
    /// the bill cannot tell the dimension apart).
    pub key: Vec<String>,
    /// The currency of every amount in the row: the bill's, or an
    /// estimate's own when no rate converts it (the row then stands apart,
    /// out of the total).
    pub currency: String,
    /// panoptic's estimate (priced calls, adjustments excluded).
    pub estimate: Decimal,
    /// Adjustments already written for this group.
    pub adjusted: Decimal,
    /// Calls panoptic recorded.
    pub calls: u64,
    /// Calls with no amount.
    pub unpriced: u64,
    /// Calls cancelled.
    pub cancelled: u64,
    /// Billed at list price.
    pub list: Decimal,
    /// Billed credits (zero or negative).
    pub credits: Decimal,
    /// Billed net.
    pub net: Decimal,
    /// Billed amount per SKU or line item (at list price).
    pub details: BTreeMap<String, Decimal>,
    /// The basis amount minus the estimate.
    pub difference: Decimal,
    /// The basis amount over the estimate (`None` with no estimate).
    pub ratio: Option<Decimal>,
    /// Past the tolerance.
    pub flagged: bool,
    /// Why, as far as the data tells.
    pub reasons: Vec<Reason>,
}

impl ReconRow {
    pub(super) fn empty(key: Vec<String>, currency: &str) -> ReconRow {
        ReconRow {
            key,
            currency: currency.to_owned(),
            estimate: Decimal::ZERO,
            adjusted: Decimal::ZERO,
            calls: 0,
            unpriced: 0,
            cancelled: 0,
            list: Decimal::ZERO,
            credits: Decimal::ZERO,
            net: Decimal::ZERO,
            details: BTreeMap::new(),
            difference: Decimal::ZERO,
            ratio: None,
            flagged: false,
            reasons: Vec::new(),
        }
    }

    /// `|difference| / |estimate|`; `None` when there is no estimate.
    pub fn relative(&self) -> Option<Decimal> {
        (!self.estimate.is_zero()).then(|| (self.difference / self.estimate).abs())
    }

    /// Whether the bill of this row's day may still change.
    pub fn is_late(&self) -> bool {
        self.reasons
            .iter()
            .any(|r| matches!(r, Reason::LateData { .. }))
    }

    pub(super) fn add(&mut self, other: &ReconRow) {
        add_fields!(self, other; estimate, adjusted, calls, unpriced, cancelled, list, credits, net, difference);
    }
}

/// The rows of a reconciliation and their total.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Provider reconciled.
    pub provider: String,
    /// Dimensions of each row's key, `Day` first.
    pub by: Vec<GroupBy>,
    /// The amount compared with the estimate.
    pub basis: Basis,
    /// The bill's currency (the estimates' when there is no bill line):
    /// the currency of `total`.
    pub currency: String,
    /// One row per day and group, by day then key (then currency).
    pub rows: Vec<ReconRow>,
    /// Sums over the rows in `currency` (key `total`); a row in another
    /// currency is never added in.
    pub total: ReconRow,
}

impl Report {
    /// Rows past the tolerance.
    pub fn flagged(&self) -> impl Iterator<Item = &ReconRow> {
        self.rows.iter().filter(|r| r.flagged)
    }

    /// Rows whose relative difference is over `limit` (`0.05` for 5 %),
    /// leaving out days whose bill is still arriving and below the
    /// estimate (the rest may come; a late day billed above it only
    /// grows): what a CI gate fails on.
    pub fn over(&self, limit: Decimal, min_difference: Decimal) -> Vec<&ReconRow> {
        self.rows
            .iter()
            .filter(|r| !(r.is_late() && r.difference < Decimal::ZERO))
            .filter(|r| r.difference.abs() > min_difference)
            .filter(|r| r.relative().is_none_or(|rel| rel > limit))
            .collect()
    }
}
