//! What was actually spent: daily cost per service (and SKU) from the
//! standard Cloud Billing export to BigQuery (`gcp_billing_export_v1_*`),
//! read through the [`BigQuery`] client with a parameterised query.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::bigquery::{BigQuery, Error, Query, QueryParameter};

/// One day's cost of one service (and SKU, when asked for).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DailyCost {
    /// The usage day (UTC, from `usage_start_time`).
    pub date: NaiveDate,
    /// `service.description` (`BigQuery`).
    pub service: String,
    /// `sku.description`, when grouped by SKU.
    pub sku: Option<String>,
    /// Sum of `cost`, before credits.
    pub cost: Decimal,
    /// Sum of `credits[].amount` (zero or negative).
    pub credits: Decimal,
    /// `currency` (`USD`).
    pub currency: String,
}

impl DailyCost {
    /// Cost after credits.
    pub fn net(&self) -> Decimal {
        self.cost + self.credits
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
    location: Option<String>,
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
            location: None,
        })
    }

    /// Also groups by SKU.
    pub fn by_sku(mut self, by_sku: bool) -> BillingExport {
        self.by_sku = by_sku;
        self
    }

    /// Location of the export's dataset (`US`, `EU`).
    pub fn location(mut self, location: impl Into<String>) -> BillingExport {
        self.location = Some(location.into());
        self
    }

    /// The table read.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The SQL [`costs`](Self::costs) runs, with `@start` and `@end` (DATE).
    pub fn sql(&self) -> String {
        let sku = if self.by_sku {
            "sku.description"
        } else {
            "CAST(NULL AS STRING)"
        };
        format!(
            "SELECT DATE(usage_start_time) AS date, service.description AS service, {sku} AS sku, \
             SUM(CAST(cost AS NUMERIC)) AS cost, \
             SUM(IFNULL((SELECT SUM(CAST(c.amount AS NUMERIC)) FROM UNNEST(credits) AS c), 0)) AS credits, \
             currency \
             FROM `{table}` \
             WHERE usage_start_time >= TIMESTAMP(@start) AND usage_start_time < TIMESTAMP(@end) \
             GROUP BY date, service, sku, currency \
             ORDER BY date, service, sku",
            table = self.table
        )
    }

    /// Daily cost per service for the days from `start` up to, not
    /// including, `end`.
    pub async fn costs(&self, start: NaiveDate, end: NaiveDate) -> Result<Vec<DailyCost>, Error> {
        if end < start {
            return Err(Error::Invalid(format!("end {end} is before start {start}")));
        }
        let mut query = Query::new(self.sql())
            .param(QueryParameter::date("start", start))
            .param(QueryParameter::date("end", end))
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
        assert!(sql.contains("FROM `p.d.t`") && sql.contains("sku.description AS sku"));
        assert!(sql.contains("@start") && sql.contains("@end"));
    }
}
