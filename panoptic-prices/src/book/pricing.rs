//! Pricing a usage: the entry's list in force on the day, in the region,
//! under the variant, each component at its figure.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::{PriceBook, PriceList};
use crate::priced::{Priced, PricedComponent, Unpriced};
use crate::usage::Usage;

impl PriceBook {
    /// Prices `usage` as `provider` lists it on day `on`.
    ///
    /// The entry is `usage.item` exactly, else the item without a trailing
    /// `-YYYY-MM-DD` (a dated snapshot), else for `ft:BASE:…` the entry
    /// `ft:BASE` or `ft:BASE` undated. Never a prefix match. The variant is
    /// `usage.variant`, else the one the service implies (`Batch`).
    pub fn price(
        &self,
        provider: &str,
        service: &str,
        usage: &Usage,
        on: NaiveDate,
    ) -> Result<Priced, Unpriced> {
        let table = self.tables.get(provider).ok_or_else(|| Unpriced::NoBook {
            provider: provider.to_owned(),
        })?;
        let (name, entry) = table
            .resolve(&usage.item)
            .ok_or_else(|| Unpriced::UnknownItem {
                provider: provider.to_owned(),
                item: usage.item.clone(),
            })?;
        let entry_id = format!("{provider}/{name}");
        let service = usage.service.as_deref().unwrap_or(service);
        let variant = usage
            .variant
            .clone()
            .or_else(|| table.variant_for_service(service));
        let region = usage.region.as_deref().or(entry.default_region.as_deref());

        // Explicit lists for the variant win; else the base lists with the
        // variant's multiplier, if the entry is sold under it.
        let explicit: Vec<&PriceList> = entry
            .lists
            .iter()
            .filter(|l| l.variant == variant)
            .collect();
        let (lists, multiplier) = match (&variant, explicit.is_empty()) {
            (None, _) | (Some(_), false) => (explicit, None),
            (Some(v), true) => {
                let derived = table
                    .variants
                    .get(v)
                    .filter(|_| entry.variants.iter().any(|e| e == v));
                match derived {
                    Some(d) => (
                        entry.lists.iter().filter(|l| l.variant.is_none()).collect(),
                        Some(d),
                    ),
                    None => {
                        return Err(Unpriced::UnknownVariant {
                            entry: entry_id,
                            variant: v.clone(),
                        });
                    }
                }
            }
        };

        let regional: Vec<&PriceList> =
            lists.into_iter().filter(|l| l.applies_in(region)).collect();
        if regional.is_empty() {
            return Err(Unpriced::UnknownRegion {
                entry: entry_id,
                region: region.unwrap_or("(none)").to_owned(),
            });
        }
        // Latest list in force; a list naming the region beats a global one
        // of the same date.
        let list = regional
            .into_iter()
            .filter(|l| l.effective <= on)
            .max_by_key(|l| (l.effective, !l.regions.is_empty()))
            .ok_or_else(|| Unpriced::NotYetEffective {
                entry: entry_id.clone(),
                on,
            })?;

        let mut components = Vec::with_capacity(usage.quantities.len());
        let mut amount = Decimal::ZERO;
        for q in &usage.quantities {
            if q.amount.is_zero() {
                continue;
            }
            let figure = list
                .figures
                .iter()
                .find(|f| f.component == q.component)
                .ok_or_else(|| Unpriced::UnknownComponent {
                    entry: entry_id.clone(),
                    component: q.component.clone(),
                })?;
            let unit_price = match multiplier {
                Some(v) if v.components.contains(&q.component) => figure.price * v.multiplier,
                _ => figure.price,
            };
            let line = times(q.amount, unit_price, figure.per);
            amount += line;
            components.push(PricedComponent {
                component: q.component.clone(),
                quantity: q.amount,
                unit_price,
                per: figure.per,
                unit: figure.unit.clone(),
                amount: line,
                source: figure.source.clone(),
                checked: figure.checked,
                effective: list.effective,
            });
        }
        Ok(Priced {
            amount,
            currency: entry.currency.clone(),
            entry: entry_id,
            variant,
            components,
        })
    }
}

/// `quantity × price / per`, multiplying first so that exact results stay
/// exact; dividing first only if the product would overflow.
fn times(quantity: Decimal, price: Decimal, per: Decimal) -> Decimal {
    quantity
        .checked_mul(price)
        .and_then(|p| p.checked_div(per))
        .or_else(|| quantity.checked_div(per)?.checked_mul(price))
        .unwrap_or(Decimal::MAX)
}
