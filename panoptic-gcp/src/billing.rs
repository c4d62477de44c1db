//! What was actually spent: daily cost per service (and SKU) from the
//! standard Cloud Billing export to BigQuery (`gcp_billing_export_v1_*`),
//! read through the [`BigQuery`] client with a parameterised query.
//!
//! The query follows Google's billing rules: days in Pacific time, one
//! row per day, invoice month, cost type, service and SKU (by id: names
//! change), list cost, credits by type and net kept apart. It reads only
//! the partitions that can hold those days (`_PARTITIONTIME`), plus a
//! trailing window for rows exported late.
//!
//! With [`BillingExport::by_label`], rows are also split by the labels
//! panoptic puts on every BigQuery job it runs (`panoptic_resource`,
//! `panoptic_user`), so that a bill can be compared per function.

use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::bigquery::{BigQuery, Error, Query, QueryParameter, RESOURCE_LABEL, USER_LABEL};
use crate::pricing::BILLING_TIME_ZONE;

/// How many days after a usage day its rows may still be exported.
pub const DEFAULT_LATE_DAYS: u32 = 3;

/// One credit type's sum.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CreditSum {
    /// `credits.type` (`FREE_TIER`, `PROMOTION`, `COMMITTED_USAGE_DISCOUNT`, …).
    #[serde(rename = "type")]
    pub kind: String,
    /// Sum of `credits.amount` (zero or negative).
    pub amount: Decimal,
}

/// One day's cost of one service (and SKU, when asked for).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DailyCost {
    /// The usage day in Pacific time (Google's billing day), from
    /// `usage_start_time`.
    pub date: NaiveDate,
    /// `invoice.month` (`YYYYMM`).
    pub invoice_month: String,
    /// `cost_type`: `regular`, `tax`, `adjustment` or `rounding error`.
    pub cost_type: String,
    /// `service.id` (`24E6-581D-38E5`).
    pub service_id: String,
    /// `service.description` (`BigQuery`).
    pub service: String,
    /// `sku.id`, when grouped by SKU.
    pub sku_id: Option<String>,
    /// `sku.description`, when grouped by SKU.
    pub sku: Option<String>,
    /// The `panoptic_resource` label (sanitized, as BigQuery keeps it),
    /// when grouped by label and the usage carries one.
    #[serde(default)]
    pub resource: Option<String>,
    /// The `panoptic_user` label, when grouped by label and present.
    #[serde(default)]
    pub user: Option<String>,
    /// Sum of `cost`, before credits.
    pub cost: Decimal,
    /// Sum of `cost_at_list` (list price; `cost` where the export has
    /// no list cost).
    pub cost_at_list: Decimal,
    /// Sum of `credits[].amount` (zero or negative).
    pub credits: Decimal,
    /// The credits by type.
    #[serde(default)]
    pub credits_by_type: Vec<CreditSum>,
    /// `currency` (`USD`).
    pub currency: String,
}

impl DailyCost {
    /// Cost after credits.
    pub fn net(&self) -> Decimal {
        self.cost + self.credits
    }

    /// The credits of one type (zero when none).
    pub fn credit(&self, kind: &str) -> Decimal {
        self.credits_by_type
            .iter()
            .filter(|c| c.kind == kind)
            .map(|c| c.amount)
            .sum()
    }
}

/// Reads the billing export table.
///
/// ```no_run
/// use panoptic_gcp::billing::BillingExport;
/// # async fn run(bq: panoptic_gcp::bigquery::BigQuery) -> Result<(), panoptic_gcp::bigquery::Error> {
/// let export = BillingExport::new(bq, "my-project.billing.gcp_billing_export_v1_01ABCD_234567_89EFGH")?;
/// let start = "2026-11-01".parse().unwrap();
/// let end = "2026-11-26".parse().unwrap();
/// for day in export.costs(start, end).await? {
///     println!("{} {} {} {}", day.date, day.service, day.net(), day.currency);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct BillingExport {
    bq: BigQuery,
    table: String,
    by_sku: bool,
    by_label: bool,
    location: Option<String>,
    late_days: u32,
}

impl BillingExport {
    /// The export at `table` (`project.dataset.gcp_billing_export_v1_…`).
    /// A table name cannot be a query parameter, so it is checked instead:
    /// letters, digits, `_`, `-`, `.` and `:` only.
    pub fn new(bq: BigQuery, table: impl Into<String>) -> Result<BillingExport, Error> {
        let table = table.into();
        let valid = !table.is_empty()
            && table
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'));
        if !valid {
            return Err(Error::Invalid(format!(
                "billing export table `{table}`: use project.dataset.table with letters, digits, _ - . : only"
            )));
        }
        Ok(BillingExport {
            bq,
            table,
            by_sku: false,
            by_label: false,
            location: None,
            late_days: DEFAULT_LATE_DAYS,
        })
    }

    /// Also groups by SKU.
    pub fn by_sku(mut self, by_sku: bool) -> BillingExport {
        self.by_sku = by_sku;
        self
    }

    /// Also groups by the `panoptic_resource` and `panoptic_user` job
    /// labels, filling [`DailyCost::resource`] and [`DailyCost::user`]:
    /// cost per function and user, for the usage panoptic labelled (other
    /// usage keeps `None`).
    pub fn by_label(mut self, by_label: bool) -> BillingExport {
        self.by_label = by_label;
        self
    }

    /// How many days after a usage day its rows may still arrive.
    pub fn late_window(&self) -> u32 {
        self.late_days
    }

    /// Location of the export's dataset (`US`, `EU`).
    pub fn location(mut self, location: impl Into<String>) -> BillingExport {
        self.location = Some(location.into());
        self
    }

    /// How many days after a usage day its rows may still arrive (default
    /// [`DEFAULT_LATE_DAYS`]): the partitions read reach that far past the
    /// end, and [`BillingExport::reread_window`] goes that far back.
    pub fn late_days(mut self, days: u32) -> BillingExport {
        self.late_days = days;
        self
    }

    /// The table read.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The days to read in a reconciliation run that last read up to (not
    /// including) `read_until`, on `today` (a Pacific-time day): from
    /// `late_days` before `read_until`, since late rows may have changed
    /// them, to `today` (today itself is not complete).
    ///
    /// ```
    /// # fn bq() -> panoptic_gcp::bigquery::BigQuery { unimplemented!() }
    /// # fn run() -> Result<(), panoptic_gcp::bigquery::Error> {
    /// # let export = panoptic_gcp::billing::BillingExport::new(bq(), "p.d.t")?;
    /// let (start, end) = export.reread_window("2026-11-20".parse().unwrap(), "2026-11-26".parse().unwrap());
    /// assert_eq!((start.to_string(), end.to_string()), ("2026-11-17".into(), "2026-11-26".into()));
    /// # Ok(()) }
    /// ```
    pub fn reread_window(&self, read_until: NaiveDate, today: NaiveDate) -> (NaiveDate, NaiveDate) {
        let start = read_until
            .checked_sub_days(Days::new(u64::from(self.late_days)))
            .unwrap_or(read_until);
        (start.min(today), today)
    }

    /// The SQL [`costs`](Self::costs) runs, with `@start`, `@end` (DATE,
    /// Pacific-time days) and `@late_days` (INT64).
    pub fn sql(&self) -> String {
        let (sku_id, sku) = if self.by_sku {
            ("sku.id", "sku.description")
        } else {
            // '' rather than NULL: the credit join below matches on it.
            ("''", "CAST(NULL AS STRING)")
        };
        // A job's labels are an ARRAY<STRUCT<key, value>>; '' stands for
        // "no such label" so that the credit join below matches on it.
        let label = |key: &str| {
            if self.by_label {
                format!(
                    "IFNULL((SELECT l.value FROM UNNEST(labels) AS l WHERE l.key = '{key}' LIMIT 1), '')"
                )
            } else {
                "''".to_owned()
            }
        };
        let (resource, user) = (label(RESOURCE_LABEL), label(USER_LABEL));
        // _PARTITIONTIME is a UTC day; a Pacific day spans two of them,
        // and rows arrive up to @late_days later.
        format!(
            "WITH usage AS (\
             SELECT DATE(usage_start_time, '{tz}') AS date, invoice.month AS invoice_month, cost_type, \
             service.id AS service_id, service.description AS service, \
             {sku_id} AS sku_id, {sku} AS sku, {resource} AS resource, {user} AS user, currency, \
             CAST(cost AS NUMERIC) AS cost, CAST(IFNULL(cost_at_list, cost) AS NUMERIC) AS cost_at_list, credits \
             FROM `{table}` \
             WHERE _PARTITIONTIME >= TIMESTAMP(DATE_SUB(@start, INTERVAL 1 DAY)) \
             AND _PARTITIONTIME < TIMESTAMP(DATE_ADD(@end, INTERVAL @late_days + 1 DAY)) \
             AND usage_start_time >= TIMESTAMP(@start, '{tz}') \
             AND usage_start_time < TIMESTAMP(@end, '{tz}')), \
             costs AS (\
             SELECT date, invoice_month, cost_type, service_id, ANY_VALUE(service) AS service, \
             sku_id, ANY_VALUE(sku) AS sku, resource, user, currency, \
             SUM(cost) AS cost, SUM(cost_at_list) AS cost_at_list \
             FROM usage GROUP BY date, invoice_month, cost_type, service_id, sku_id, resource, user, currency), \
             credit_types AS (\
             SELECT date, invoice_month, cost_type, service_id, sku_id, resource, user, currency, c.type AS type, \
             SUM(CAST(c.amount AS NUMERIC)) AS amount \
             FROM usage, UNNEST(usage.credits) AS c \
             GROUP BY date, invoice_month, cost_type, service_id, sku_id, resource, user, currency, type), \
             credits AS (\
             SELECT date, invoice_month, cost_type, service_id, sku_id, resource, user, currency, \
             SUM(amount) AS credits, ARRAY_AGG(STRUCT(type, amount) ORDER BY type) AS credits_by_type \
             FROM credit_types GROUP BY date, invoice_month, cost_type, service_id, sku_id, resource, user, currency) \
             SELECT date, invoice_month, cost_type, service_id, service, NULLIF(sku_id, '') AS sku_id, sku, \
             NULLIF(resource, '') AS resource, NULLIF(user, '') AS user, \
             cost, cost_at_list, IFNULL(credits.credits, 0) AS credits, \
             IFNULL(credits.credits_by_type, []) AS credits_by_type, currency \
             FROM costs LEFT JOIN credits \
             USING (date, invoice_month, cost_type, service_id, sku_id, resource, user, currency) \
             ORDER BY date, service_id, sku_id, resource, user, cost_type",
            tz = BILLING_TIME_ZONE,
            table = self.table
        )
    }

    /// Daily cost per service for the Pacific-time days from `start` up
    /// to, not including, `end`.
    pub async fn costs(&self, start: NaiveDate, end: NaiveDate) -> Result<Vec<DailyCost>, Error> {
        if end < start {
            return Err(Error::Invalid(format!("end {end} is before start {start}")));
        }
        let mut query = Query::new(self.sql())
            .param(QueryParameter::date("start", start))
            .param(QueryParameter::date("end", end))
            .param(QueryParameter::int64(
                "late_days",
                i64::from(self.late_days),
            ))
            .resource("billing_export_costs");
        if let Some(location) = &self.location {
            query = query.location(location.clone());
        }
        self.bq.query(query).await?.deserialize()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bq() -> BigQuery {
        BigQuery::builder("p")
            .base_url("http://127.0.0.1:9/")
            .build()
            .unwrap()
    }

    #[test]
    fn table_names_are_checked_not_interpolated_blindly() {
        assert!(BillingExport::new(bq(), "p.billing.gcp_billing_export_v1_01AB_CD").is_ok());
        for bad in ["", "p.d.t` WHERE 1=1 --", "p.d.t; DROP", "a b"] {
            assert!(BillingExport::new(bq(), bad).is_err(), "{bad}");
        }
        let sql = BillingExport::new(bq(), "p.d.t")
            .unwrap()
            .by_sku(true)
            .sql();
        assert!(sql.contains("FROM `p.d.t`") && sql.contains("sku.id AS sku_id"));
        assert!(sql.contains("@start") && sql.contains("@end"));
        assert!(!sql.contains("UNNEST(labels)"));
    }

    #[test]
    fn by_label_groups_by_the_panoptic_labels() {
        let sql = BillingExport::new(bq(), "p.d.t")
            .unwrap()
            .by_label(true)
            .sql();
        assert!(sql.contains("l.key = 'panoptic_resource'"), "{sql}");
        assert!(sql.contains("l.key = 'panoptic_user'"), "{sql}");
        assert!(sql.contains("NULLIF(resource, '') AS resource"), "{sql}");
        assert!(sql.contains(
            "GROUP BY date, invoice_month, cost_type, service_id, sku_id, resource, user"
        ));
    }

    #[test]
    fn the_reread_window_reaches_back_for_late_rows() {
        let export = BillingExport::new(bq(), "p.d.t").unwrap().late_days(2);
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(
            export.reread_window(d("2026-12-01"), d("2026-12-05")),
            (d("2026-11-29"), d("2026-12-05"))
        );
    }
}
