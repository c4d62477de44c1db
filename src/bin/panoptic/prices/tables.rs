//! The price tables as `panoptic prices` lists them: the book's (OpenAI,
//! AWS, MongoDB Atlas) and, with the `gcp` feature, Google Cloud's, as
//! figures.

use std::collections::BTreeMap;

use panoptic::prices::{Figure, PriceBook};

use super::known_providers;

/// One listed figure, with what the book's columns cannot say (tiers,
/// free usage, an explicit variant).
pub(super) struct Row {
    pub figure: Figure,
    pub note: String,
}

/// One provider's table as listed.
pub(super) struct TableRow {
    pub provider: String,
    pub file: String,
    pub rows: Vec<Row>,
}

pub(super) fn book_tables(book: &PriceBook) -> Vec<TableRow> {
    let mut by_provider: BTreeMap<String, Vec<Row>> = BTreeMap::new();
    for figure in book.figures() {
        let note = figure
            .variant
            .as_ref()
            .map(|v| format!("variant {v}"))
            .unwrap_or_default();
        by_provider
            .entry(figure.provider.clone())
            .or_default()
            .push(Row { figure, note });
    }
    let order = |p: &str| known_providers().iter().position(|k| *k == p);
    let mut tables: Vec<TableRow> = book
        .tables()
        .into_iter()
        .map(|t| TableRow {
            rows: by_provider.remove(&t.provider).unwrap_or_default(),
            provider: t.provider,
            file: t.file,
        })
        .collect();
    tables.sort_by_key(|t| (order(&t.provider).unwrap_or(usize::MAX), t.provider.clone()));
    tables
}

/// Google Cloud's table as figures: one per service, SKU, price list and
/// region (the book's granularity), priced at the first tier.
#[cfg(feature = "gcp")]
pub(super) fn gcp_table() -> Result<TableRow, String> {
    use panoptic::gcp::pricing::PriceTable;

    let table = PriceTable::from_env().map_err(|e| format!("PANOPTIC_GCP_PRICES: {e}"))?;
    let mut file = "prices.toml (panoptic-gcp)".to_owned();
    if let Ok(path) = std::env::var("PANOPTIC_GCP_PRICES")
        && !path.trim().is_empty()
    {
        file = format!("{file} + {}", path.trim());
    }
    let mut rows = Vec::new();
    for (service_key, service) in &table.services {
        for (sku_key, sku) in &service.skus {
            for price in &sku.prices {
                let Some(first) = price.tiers.first() else {
                    continue;
                };
                let mut notes = Vec::new();
                if !price.free_per_month.is_zero() {
                    notes.push(format!(
                        "free {} {}/month",
                        price.free_per_month.normalize(),
                        sku.unit
                    ));
                }
                if price.tiers.len() > 1 {
                    notes.push(format!("{} tiers", price.tiers.len()));
                }
                for region in &price.regions {
                    rows.push(Row {
                        figure: Figure {
                            provider: "gcp".to_owned(),
                            entry: service_key.clone(),
                            component: sku_key.clone(),
                            region: Some(region.clone()),
                            variant: None,
                            unit_price: first.rate,
                            per: first.per,
                            unit: sku.unit.clone(),
                            currency: table.currency.clone(),
                            source: price.source.clone(),
                            checked: price.checked,
                            effective: price.effective,
                            usagetype: None,
                            sku: price
                                .catalog_sku_id
                                .clone()
                                .or_else(|| sku.catalog_sku_id.clone()),
                        },
                        note: notes.join("; "),
                    });
                }
            }
        }
    }
    Ok(TableRow {
        provider: "gcp".to_owned(),
        file,
        rows,
    })
}
