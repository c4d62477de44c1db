//! The Cloud Billing export to BigQuery, read by panoptic-gcp's connector:
//! Pacific-time days, list cost, credits by type and net per service and
//! SKU, and per function and user from panoptic's job labels when asked
//! ([`GcpBillingExport::by_label`]).

use chrono::NaiveDate;
use chrono_tz::Tz;
use panoptic_gcp::billing::BillingExport;

use crate::bills::{BillError, BillLine, BillSource};

/// The billing export as a bill source.
#[derive(Debug, Clone)]
pub struct GcpBillingExport {
    export: BillingExport,
}

impl GcpBillingExport {
    /// Reads through `export` (SKU detail is asked for).
    pub fn new(export: BillingExport) -> GcpBillingExport {
        GcpBillingExport {
            export: export.by_sku(true),
        }
    }

    /// Splits lines by the `panoptic_resource` and `panoptic_user` job
    /// labels, so that [`BillLine::resource`] and [`BillLine::user`] name
    /// the function and user (in label form: `ListUsers` is `listusers`;
    /// the reconciliation compares both sides in that form).
    pub fn by_label(self, by_label: bool) -> GcpBillingExport {
        GcpBillingExport {
            export: self.export.by_label(by_label),
        }
    }
}

impl BillSource for GcpBillingExport {
    fn provider(&self) -> &str {
        "gcp"
    }

    fn time_zone(&self) -> Tz {
        // Google's billing day.
        Tz::America__Los_Angeles
    }

    async fn lines(&self, start: NaiveDate, end: NaiveDate) -> Result<Vec<BillLine>, BillError> {
        let costs = self
            .export
            .costs(start, end)
            .await
            .map_err(|e| BillError::Http {
                source_name: "GCP billing export",
                message: e.to_string(),
            })?;
        Ok(costs
            .into_iter()
            .map(|cost| {
                let net = cost.net();
                let mut line = BillLine::new("gcp", cost.date, cost.cost_at_list, net);
                // Negotiated prices below list are a credit of their own.
                line.credits = net - cost.cost_at_list;
                line.credits_by_type = cost
                    .credits_by_type
                    .iter()
                    .map(|c| (c.kind.clone(), c.amount))
                    .collect();
                let discount = cost.cost - cost.cost_at_list;
                if !discount.is_zero() {
                    line.credits_by_type.push(("DISCOUNT".into(), discount));
                }
                line.service = Some(cost.service);
                line.resource = cost.resource;
                line.user = cost.user;
                line.detail = cost.sku.or(cost.sku_id);
                line.currency = cost.currency;
                line
            })
            .collect())
    }
}
