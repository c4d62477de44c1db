//! The book listed: a summary per provider table, every figure (for
//! `panoptic prices`), and the figures in force that an AWS offer refresh
//! compares.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::{PriceBook, Table};

/// One provider's table, summarised for `panoptic prices`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSummary {
    /// `openai`, `aws`, `mongodb_atlas`.
    pub provider: String,
    /// The file(s) it was read from, `+`-joined when overridden.
    pub file: String,
    /// How many figures (one per component, price list and region).
    pub figures: usize,
    /// The oldest `checked` date of its figures.
    pub oldest_checked: Option<NaiveDate>,
    /// The newest `checked` date of its figures.
    pub newest_checked: Option<NaiveDate>,
}

/// One figure of the book, as a listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figure {
    /// Provider.
    pub provider: String,
    /// Entry (model or SKU) name, without the provider.
    pub entry: String,
    /// Component (`input`, `requests`, …).
    pub component: String,
    /// The region, or `None` when the list applies everywhere.
    pub region: Option<String>,
    /// An explicit variant list (`batch`), or `None` for base prices.
    pub variant: Option<String>,
    /// Price of `per` units.
    pub unit_price: Decimal,
    /// How many units `unit_price` buys.
    pub per: Decimal,
    /// The base unit.
    pub unit: String,
    /// ISO 4217.
    pub currency: String,
    /// Where the figure was read.
    pub source: String,
    /// When it was read there.
    pub checked: NaiveDate,
    /// From when it applies.
    pub effective: NaiveDate,
    /// The AWS Price List usage type it corresponds to, if any.
    pub usagetype: Option<String>,
    /// The AWS Price List SKU it corresponds to, if any.
    pub sku: Option<String>,
}

impl Figure {
    /// Days since the figure was checked (negative if checked "after" `today`).
    pub fn age_days(&self, today: NaiveDate) -> i64 {
        (today - self.checked).num_days()
    }
}

impl PriceBook {
    /// One summary per provider table.
    pub fn tables(&self) -> Vec<TableSummary> {
        self.tables
            .iter()
            .map(|(provider, table)| {
                let figures = self.figures_of(provider, table);
                TableSummary {
                    provider: provider.clone(),
                    file: table.files.join(" + "),
                    figures: figures.len(),
                    oldest_checked: figures.iter().map(|f| f.checked).min(),
                    newest_checked: figures.iter().map(|f| f.checked).max(),
                }
            })
            .collect()
    }

    /// Every figure of the book, one per component, list and region.
    pub fn figures(&self) -> Vec<Figure> {
        self.tables
            .iter()
            .flat_map(|(provider, table)| self.figures_of(provider, table))
            .collect()
    }

    fn figures_of(&self, provider: &str, table: &Table) -> Vec<Figure> {
        let mut out = Vec::new();
        for (name, entry) in &table.entries {
            for list in &entry.lists {
                let regions: Vec<Option<String>> = if list.regions.is_empty() {
                    vec![None]
                } else {
                    list.regions.iter().cloned().map(Some).collect()
                };
                for region in regions {
                    for f in &list.figures {
                        out.push(Figure {
                            provider: provider.to_owned(),
                            entry: name.clone(),
                            component: f.component.clone(),
                            region: region.clone(),
                            variant: list.variant.clone(),
                            unit_price: f.price,
                            per: f.per,
                            unit: f.unit.clone(),
                            currency: entry.currency.clone(),
                            source: f.source.clone(),
                            checked: f.checked,
                            effective: list.effective,
                            usagetype: f.usagetype.clone(),
                            sku: f.sku.clone(),
                        });
                    }
                }
            }
        }
        out
    }

    /// The figures an AWS offer refresh compares: for each entry, region
    /// and component, the base list in force on `on`.
    pub(crate) fn current_figures(&self, provider: &str, on: NaiveDate) -> Vec<CurrentFigure> {
        let Some(table) = self.tables.get(provider) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (name, entry) in &table.entries {
            let mut regions: Vec<Option<&str>> = entry
                .lists
                .iter()
                .flat_map(|l| l.regions.iter().map(|r| Some(r.as_str())))
                .collect();
            regions.sort();
            regions.dedup();
            if regions.is_empty() {
                regions.push(None);
            }
            for region in regions {
                let list = entry
                    .lists
                    .iter()
                    .filter(|l| l.variant.is_none() && l.applies_in(region))
                    .filter(|l| l.effective <= on)
                    .max_by_key(|l| (l.effective, !l.regions.is_empty()));
                let Some(list) = list else { continue };
                for f in &list.figures {
                    out.push(CurrentFigure {
                        entry: format!("{provider}/{name}"),
                        region: region.map(str::to_owned),
                        list_effective: list.effective,
                        currency: entry.currency.clone(),
                        component: f.component.clone(),
                        price: f.price,
                        per: f.per,
                        unit: f.unit.clone(),
                        usagetype: f.usagetype.clone(),
                        sku: f.sku.clone(),
                        offer_unit: f.offer_unit.clone(),
                    });
                }
            }
        }
        out
    }
}

/// A figure in force, as the AWS offer refresh sees it.
#[derive(Debug, Clone)]
pub(crate) struct CurrentFigure {
    pub entry: String,
    pub region: Option<String>,
    pub list_effective: NaiveDate,
    pub currency: String,
    pub component: String,
    pub price: Decimal,
    pub per: Decimal,
    pub unit: String,
    pub usagetype: Option<String>,
    pub sku: Option<String>,
    pub offer_unit: Option<String>,
}
