//! The list price of one run. The pricing model is the caller's; the
//! job's statistics say what it ran on (`reservation_id`, `edition`) when
//! they were read, and that decides how sure the price is: an editions
//! rate is sure only for the edition the job names, and a job that ran in
//! a reservation is not priced by the bytes.

use rust_decimal::Decimal;

use super::BigQuery;
use crate::bigquery::event::{Priced, Usage};
use crate::bigquery::types::Capacity;
use crate::pricing::{FreeTier, PricingModel, slot_cost};

impl BigQuery {
    /// `free`: a cache hit or dry run; `estimated`: the statistics were
    /// not final.
    pub(super) fn price(
        &self,
        location: &str,
        usage: Usage,
        capacity: Option<&Capacity>,
        free: bool,
        estimated: bool,
    ) -> Priced {
        let model = self.inner.options.pricing_model;
        let priced = |amount, reason, estimated| Priced {
            model,
            amount,
            reason,
            estimated,
            capacity: capacity.cloned(),
        };
        if free {
            return priced(Some(Decimal::ZERO), None, estimated);
        }
        match model {
            PricingModel::Editions {
                edition,
                rate_per_slot_hour,
            } => {
                // The rate given is the configured edition's; the job may
                // not say, or say it ran on another.
                let confirmed =
                    capacity.and_then(|c| c.edition.as_deref()) == Some(edition.as_str());
                match usage.slot_ms {
                    Some(ms) => priced(
                        Some(slot_cost(ms, rate_per_slot_hour)),
                        None,
                        estimated || !confirmed,
                    ),
                    None => priced(
                        None,
                        Some("no totalSlotMs in the job statistics".to_owned()),
                        estimated,
                    ),
                }
            }
            PricingModel::OnDemand => match capacity {
                Some(capacity) => priced(
                    None,
                    Some(format!(
                        "the job ran in reservation {} (edition {}): it is billed by slot time \
                         under the reservation, not by bytes; configure PricingModel::Editions \
                         with the reservation's rate",
                        capacity.reservation.as_deref().unwrap_or("?"),
                        capacity.edition.as_deref().unwrap_or("?")
                    )),
                    estimated,
                ),
                None if usage.bytes_billed == 0 => priced(Some(Decimal::ZERO), None, estimated),
                None => match self.inner.calculator.bigquery_bytes(
                    location,
                    usage.bytes_billed,
                    FreeTier::ListPrice,
                ) {
                    Ok(charge) => priced(Some(charge.amount), None, estimated),
                    Err(e) => priced(None, Some(e.to_string()), estimated),
                },
            },
        }
    }
}
