//! The Cloud Billing Catalog API: `services.list` and
//! `services.skus.list`, every page, with prices converted into the
//! [`pricing`](crate::pricing) table format so that the table can be
//! refreshed from Google.
//!
//! This is Google's catalog of prices. It is not the `panoptic-catalog`
//! crate, which lists the providers and services panoptic knows.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate};
use reqwest::Url;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::auth::Secret;
use crate::http::Timeouts;
use crate::pricing::{PriceTable, RegionalPrice, ServicePrices, Sku, Tier};
use crate::rest::{ClientBuilder, Endpoint, Error};

/// Google's endpoint.
pub const DEFAULT_BASE_URL: &str = "https://cloudbilling.googleapis.com/v1/";

/// A Catalog service.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogService {
    /// `services/24E6-581D-38E5`.
    #[serde(default)]
    pub name: String,
    /// `24E6-581D-38E5`.
    #[serde(default)]
    pub service_id: String,
    /// `BigQuery`.
    #[serde(default)]
    pub display_name: String,
    /// `businessEntities/GCP`.
    #[serde(default)]
    pub business_entity_name: String,
}

/// A Catalog SKU.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogSku {
    /// `services/…/skus/…`.
    #[serde(default)]
    pub name: String,
    /// `F17B-412E-CB64`.
    #[serde(default)]
    pub sku_id: String,
    /// `Analysis (US)`.
    #[serde(default)]
    pub description: String,
    /// Category.
    #[serde(default)]
    pub category: SkuCategory,
    /// Regions the price applies in (`us`, `us-central1`, `global`).
    #[serde(default)]
    pub service_regions: Vec<String>,
    /// Prices, newest first.
    #[serde(default)]
    pub pricing_info: Vec<PricingInfo>,
}

/// A SKU's category.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SkuCategory {
    /// `BigQuery`.
    #[serde(default)]
    pub service_display_name: String,
    /// `ApplicationServices`.
    #[serde(default)]
    pub resource_family: String,
    /// `Analysis`.
    #[serde(default)]
    pub resource_group: String,
    /// `OnDemand`.
    #[serde(default)]
    pub usage_type: String,
}

/// One pricing of a SKU.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PricingInfo {
    /// When it applies from (RFC 3339).
    #[serde(default)]
    pub effective_time: Option<String>,
    /// Free text.
    #[serde(default)]
    pub summary: String,
    /// Rates.
    #[serde(default)]
    pub pricing_expression: PricingExpression,
}

/// How usage turns into money.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PricingExpression {
    /// The unit rates are per (`TiBy`, `GiBy.mo`, `s`, `count`).
    #[serde(default)]
    pub usage_unit: String,
    /// `tebibyte`.
    #[serde(default)]
    pub usage_unit_description: String,
    /// Quantity prices are shown for (e.g. 1000000 requests).
    #[serde(default)]
    pub display_quantity: f64,
    /// Rates by monthly usage.
    #[serde(default)]
    pub tiered_rates: Vec<TierRate>,
}

/// One tier of a Catalog price.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TierRate {
    /// Usage (in `usageUnit`) where the tier starts.
    #[serde(default)]
    pub start_usage_amount: Option<serde_json::Number>,
    /// Price of one `usageUnit`.
    #[serde(default)]
    pub unit_price: Money,
}

/// Google's `Money`: `units` (int64 as text) plus `nanos` (10⁻⁹).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Money {
    /// ISO 4217 code.
    #[serde(default)]
    pub currency_code: String,
    /// Whole units, as text.
    #[serde(default)]
    pub units: Option<String>,
    /// Billionths, same sign as `units`.
    #[serde(default)]
    pub nanos: i32,
}

impl Money {
    /// The exact amount.
    ///
    /// ```
    /// let m = panoptic_gcp::billing_catalog::Money { currency_code: "USD".into(), units: Some("6".into()), nanos: 250_000_000 };
    /// assert_eq!(m.to_decimal().unwrap().to_string(), "6.25");
    /// ```
    pub fn to_decimal(&self) -> Result<Decimal, Error> {
        let units: i64 = match self.units.as_deref().map(str::trim) {
            None | Some("") => 0,
            Some(text) => text
                .parse()
                .map_err(|_| Error::Invalid(format!("Money.units `{text}` is not an int64")))?,
        };
        Ok((Decimal::from(units) + Decimal::new(i64::from(self.nanos), 9)).normalize())
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ServicesPage {
    #[serde(default)]
    services: Vec<CatalogService>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SkusPage {
    #[serde(default)]
    skus: Vec<CatalogSku>,
    #[serde(default)]
    next_page_token: Option<String>,
}

/// A Cloud Billing Catalog client. Cheap to clone.
///
/// ```no_run
/// use panoptic_gcp::billing_catalog::Catalog;
/// # async fn run(tokens: panoptic_gcp::auth::TokenSource) -> Result<(), panoptic_gcp::rest::Error> {
/// let catalog = Catalog::builder().tokens(tokens).build()?;
/// let skus = catalog.skus("24E6-581D-38E5").await?; // BigQuery
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Catalog {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    endpoint: Endpoint,
    options: CatalogOptions,
}

/// Configures a [`Catalog`]: the settings every client takes (`base_url`,
/// `tokens`, `timeouts`, `retry`), and the Catalog options below.
pub type CatalogBuilder = ClientBuilder<CatalogOptions>;

/// The options only a [`Catalog`] client has. Set them through
/// [`CatalogBuilder`].
#[derive(Debug, Clone)]
pub struct CatalogOptions {
    page_size: u32,
    currency: Option<String>,
    api_key: Option<Secret>,
}

impl CatalogBuilder {
    /// Items per page (`pageSize`, default 5000).
    pub fn page_size(mut self, size: u32) -> Self {
        self.options.page_size = size;
        self
    }

    /// Prices in this currency (`currencyCode`) instead of USD.
    pub fn currency(mut self, code: impl Into<String>) -> Self {
        self.options.currency = Some(code.into());
        self
    }

    /// Sends this API key (`key=`) with every request: the Catalog is
    /// public data, so a key restricted to the Cloud Billing API is enough,
    /// with or without [`tokens`](CatalogBuilder::tokens).
    pub fn api_key(mut self, key: Secret) -> Self {
        self.options.api_key = Some(key);
        self
    }

    /// Builds the client; fails (never panics) when https is asked for on
    /// a machine without CA certificates.
    pub fn build(self) -> Result<Catalog, Error> {
        let base = self.settings.base()?;
        Ok(Catalog {
            inner: Arc::new(Inner {
                endpoint: self.settings.connect(base)?,
                options: self.options,
            }),
        })
    }
}

impl Catalog {
    /// Starts configuring a client.
    pub fn builder() -> CatalogBuilder {
        ClientBuilder::new(
            DEFAULT_BASE_URL,
            CatalogOptions {
                page_size: 5000,
                currency: None,
                api_key: None,
            },
        )
    }

    /// Every public service (all pages).
    pub async fn services(&self) -> Result<Vec<CatalogService>, Error> {
        let url = self.inner.endpoint.url(&["services"]);
        self.every_page(&url, false, |page: ServicesPage| {
            (page.services, page.next_page_token)
        })
        .await
    }

    /// Every SKU of service `service_id` (all pages).
    pub async fn skus(&self, service_id: &str) -> Result<Vec<CatalogSku>, Error> {
        let url = self.inner.endpoint.url(&["services", service_id, "skus"]);
        self.every_page(&url, true, |page: SkusPage| {
            (page.skus, page.next_page_token)
        })
        .await
    }

    /// The items of every page at `url`, in order. `split` takes a page
    /// apart into its items and its `nextPageToken`; `currency` asks for
    /// prices in the client's currency.
    async fn every_page<P, T>(
        &self,
        url: &Url,
        currency: bool,
        split: impl Fn(P) -> (Vec<T>, Option<String>),
    ) -> Result<Vec<T>, Error>
    where
        P: DeserializeOwned,
    {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let params = self.params(token.as_deref(), currency);
            let (items, next_token) = split(self.inner.endpoint.get(url, &params).await?);
            out.extend(items);
            match next(token.as_deref(), next_token, url)? {
                Some(t) => token = Some(t),
                None => return Ok(out),
            }
        }
    }

    fn params(&self, token: Option<&str>, currency: bool) -> Vec<(&'static str, String)> {
        let mut params = vec![("pageSize", self.inner.options.page_size.to_string())];
        if let Some(token) = token {
            params.push(("pageToken", token.to_owned()));
        }
        if currency && let Some(code) = &self.inner.options.currency {
            params.push(("currencyCode", code.clone()));
        }
        // Errors show URLs without their query, so the key stays out of them.
        if let Some(key) = &self.inner.options.api_key {
            params.push(("key", key.expose().to_owned()));
        }
        params
    }
}

/// `GET url` of a public document (no token, no retry), as text, with
/// this crate's TLS setup: for price lists published outside Google, such
/// as AWS's offer files, that `panoptic prices update` compares the same way.
/// A status other than 2xx is an [`Error::Http`] naming it.
pub async fn fetch_public_text(url: &str, timeouts: Timeouts) -> Result<String, Error> {
    let parsed: Url = url
        .parse()
        .map_err(|e| Error::Invalid(format!("URL `{url}`: {e}")))?;
    let http = crate::http::reqwest_client(&parsed, timeouts)?;
    let failed = |message: String, timeout: bool| Error::Http {
        url: url.to_owned(),
        message,
        timeout,
    };
    let resp = http
        .get(parsed.clone())
        .send()
        .await
        .map_err(|e| failed(chain(&e), e.is_timeout()))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(failed(format!("HTTP {status}"), false));
    }
    resp.text()
        .await
        .map_err(|e| failed(chain(&e), e.is_timeout()))
}

/// reqwest keeps the cause (refused, DNS) out of its own `Display`.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        text.push_str(": ");
        text.push_str(&e.to_string());
        cause = e.source();
    }
    text
}

/// The next page token: none when the API sends none or `""`; an error
/// when it repeats the current one (a loop).
fn next(current: Option<&str>, token: Option<String>, url: &Url) -> Result<Option<String>, Error> {
    match token.filter(|t| !t.is_empty()) {
        Some(t) if Some(t.as_str()) == current => Err(Error::Decode {
            url: url.to_string(),
            message: "the same nextPageToken came back twice".to_owned(),
        }),
        other => Ok(other),
    }
}

impl CatalogSku {
    /// This SKU in the price table's format: its newest pricing, regions
    /// lowercased (`global` when none are named), tiers from
    /// `tieredRates`, and a leading zero-price tier read as the monthly free
    /// tier. `checked` is recorded as the day the price was read.
    ///
    /// ```
    /// # use panoptic_gcp::billing_catalog::CatalogSku;
    /// let sku: CatalogSku = serde_json::from_str(r#"{
    ///   "skuId": "F17B-412E-CB64", "description": "Analysis (US)", "serviceRegions": ["us"],
    ///   "pricingInfo": [{"effectiveTime": "2026-11-01T00:00:00Z", "pricingExpression": {
    ///     "usageUnit": "TiBy", "displayQuantity": 1,
    ///     "tieredRates": [
    ///       {"startUsageAmount": 0, "unitPrice": {"currencyCode": "USD", "nanos": 0}},
    ///       {"startUsageAmount": 1, "unitPrice": {"currencyCode": "USD", "units": "6", "nanos": 250000000}}]}}]
    /// }"#).unwrap();
    /// let entry = sku.to_sku("https://example.invalid", "2026-11-26".parse().unwrap()).unwrap();
    /// assert_eq!(entry.prices[0].free_per_month.to_string(), "1");
    /// assert_eq!(entry.prices[0].tiers[0].rate.to_string(), "6.25");
    /// ```
    pub fn to_sku(&self, source: &str, checked: NaiveDate) -> Result<Sku, Error> {
        let info = self
            .pricing_info
            .iter()
            .max_by_key(|p| p.effective_time.clone().unwrap_or_default())
            .ok_or_else(|| Error::Invalid(format!("SKU {} has no pricingInfo", self.sku_id)))?;
        let expr = &info.pricing_expression;
        let mut tiers = expr
            .tiered_rates
            .iter()
            .map(|t| {
                let text = t
                    .start_usage_amount
                    .as_ref()
                    .map_or_else(|| "0".to_owned(), ToString::to_string);
                let from = text
                    .parse::<Decimal>()
                    .or_else(|_| Decimal::from_scientific(&text))
                    .map_err(|_| {
                        Error::Invalid(format!("SKU {}: startUsageAmount", self.sku_id))
                    })?;
                Ok(Tier {
                    from,
                    rate: t.unit_price.to_decimal()?,
                    per: Decimal::ONE,
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        tiers.sort_by_key(|t| t.from);
        let mut free_per_month = Decimal::ZERO;
        if tiers.len() > 1 && tiers[0].rate.is_zero() {
            free_per_month = tiers[1].from;
            tiers.remove(0);
        } else if let Some(first) = tiers.first()
            && first.from > Decimal::ZERO
        {
            // Nothing is priced below the first tier's start: that usage
            // is free each month.
            free_per_month = first.from;
        }
        if tiers.is_empty() {
            return Err(Error::Invalid(format!(
                "SKU {} has no tieredRates",
                self.sku_id
            )));
        }
        let effective = info
            .effective_time
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map_or(checked, |t| t.date_naive());
        let mut regions: Vec<String> = self
            .service_regions
            .iter()
            .map(|r| r.trim().to_ascii_lowercase())
            .collect();
        if regions.is_empty() {
            regions.push("global".to_owned());
        }
        Ok(Sku {
            description: self.description.clone(),
            unit: expr.usage_unit.clone(),
            catalog_sku_id: Some(self.sku_id.clone()),
            prices: vec![RegionalPrice {
                regions,
                effective,
                free_per_month,
                tiers,
                source: source.to_owned(),
                checked,
                catalog_sku_id: None,
            }],
        })
    }
}

/// The Catalog's SKUs of `service` as a price-table service, keyed by SKU id.
pub fn service_prices(
    service: &CatalogService,
    skus: &[CatalogSku],
    checked: NaiveDate,
) -> Result<ServicePrices, Error> {
    let source = format!("{DEFAULT_BASE_URL}services/{}/skus", service.service_id);
    let skus = skus
        .iter()
        .map(|s| Ok((s.sku_id.clone(), s.to_sku(&source, checked)?)))
        .collect::<Result<BTreeMap<_, _>, Error>>()?;
    Ok(ServicePrices {
        name: service.display_name.clone(),
        catalog_id: Some(service.service_id.clone()),
        skus,
    })
}

/// One shipped price the Catalog changes.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceChange {
    /// Service key in the table (`bigquery`).
    pub service: String,
    /// SKU key in the table (`analysis`).
    pub sku: String,
    /// The Catalog SKU id matched.
    pub catalog_sku_id: String,
    /// The regions the new price is for.
    pub regions: Vec<String>,
    /// From when.
    pub effective: NaiveDate,
    /// The shipped tiers and monthly free usage.
    pub old: (Vec<Tier>, Decimal),
    /// The Catalog's.
    pub new: (Vec<Tier>, Decimal),
}

impl std::fmt::Display for PriceChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rates = |tiers: &[Tier]| {
            tiers
                .iter()
                .map(|t| format!("{}+: {}", t.from, t.unit_rate().normalize()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        write!(
            f,
            "{}/{} [{}] ({}) from {}: {} (free {}) -> {} (free {})",
            self.service,
            self.sku,
            self.regions.join(", "),
            self.catalog_sku_id,
            self.effective,
            rates(&self.old.0),
            self.old.1.normalize(),
            rates(&self.new.0),
            self.new.1.normalize()
        )
    }
}

/// What a refresh would do: the changes to show before writing, and the
/// shipped prices left alone with why.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RefreshPlan {
    /// Prices that differ from the Catalog's.
    pub changes: Vec<PriceChange>,
    /// `(service/sku, reason)` of prices not updated: id not in the
    /// Catalog's answer, other unit, other currency.
    pub skipped: Vec<(String, String)>,
}

impl RefreshPlan {
    /// Writes the changes into `table`: each adds a price from its
    /// effective date (older dates keep pricing as before).
    pub fn apply(&self, table: &mut PriceTable, source: &str, checked: NaiveDate) {
        for change in &self.changes {
            let Some(sku) = table
                .services
                .get_mut(&change.service)
                .and_then(|s| s.skus.get_mut(&change.sku))
            else {
                continue;
            };
            sku.prices
                .retain(|p| !(p.effective == change.effective && p.regions == change.regions));
            sku.prices.push(RegionalPrice {
                regions: change.regions.clone(),
                effective: change.effective,
                free_per_month: change.new.1,
                tiers: change.new.0.clone(),
                source: source.to_owned(),
                checked,
                catalog_sku_id: Some(change.catalog_sku_id.clone()),
            });
        }
    }
}

/// Compares the shipped prices of `service_key` with the Catalog's `skus`,
/// by Catalog SKU id (a price's own id, else its SKU's). A Catalog price
/// is taken only when its `usageUnit` is the shipped unit and every rate
/// is in the table's currency; it applies to the shipped regions the
/// Catalog SKU names (all of them when it names none or `global`).
/// Nothing is written: see [`RefreshPlan::apply`].
pub fn plan_refresh(
    table: &PriceTable,
    service_key: &str,
    skus: &[CatalogSku],
    checked: NaiveDate,
) -> Result<RefreshPlan, Error> {
    let mut plan = RefreshPlan::default();
    let Some(service) = table.services.get(service_key) else {
        return Ok(plan);
    };
    let by_id: BTreeMap<&str, &CatalogSku> = skus.iter().map(|s| (s.sku_id.as_str(), s)).collect();
    for (sku_key, sku) in &service.skus {
        let name = format!("{service_key}/{sku_key}");
        let mut ids: Vec<&str> = sku
            .prices
            .iter()
            .filter_map(|p| p.catalog_sku_id.as_deref())
            .chain(sku.catalog_sku_id.as_deref())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        for id in ids {
            let Some(catalog) = by_id.get(id) else {
                plan.skipped.push((
                    name.clone(),
                    format!("SKU {id} not in the Catalog's answer"),
                ));
                continue;
            };
            let Some(info) = catalog
                .pricing_info
                .iter()
                .max_by_key(|p| p.effective_time.clone().unwrap_or_default())
            else {
                plan.skipped
                    .push((name.clone(), format!("SKU {id} has no pricingInfo")));
                continue;
            };
            let unit = &info.pricing_expression.usage_unit;
            if *unit != sku.unit {
                plan.skipped.push((
                    name.clone(),
                    format!(
                        "SKU {id} is priced per `{unit}`, the table per `{}`",
                        sku.unit
                    ),
                ));
                continue;
            }
            let currencies: Vec<&str> = info
                .pricing_expression
                .tiered_rates
                .iter()
                .map(|t| t.unit_price.currency_code.as_str())
                .filter(|c| *c != table.currency)
                .collect();
            if let Some(other) = currencies.first() {
                plan.skipped.push((
                    name.clone(),
                    format!(
                        "SKU {id} is priced in {other}, the table in {}",
                        table.currency
                    ),
                ));
                continue;
            }
            let fresh = catalog.to_sku("", checked)?;
            let Some(new) = fresh.prices.into_iter().next() else {
                continue;
            };
            let catalog_regions = &new.regions;
            let everywhere =
                catalog_regions.is_empty() || catalog_regions.iter().any(|r| r == "global");
            // Per region, the shipped price now in force; regions with the
            // same old price make one change.
            let mut changed: Vec<(&RegionalPrice, Vec<String>)> = Vec::new();
            for region in covered_regions(sku, id) {
                if !(everywhere || catalog_regions.contains(&region)) {
                    continue;
                }
                let Some(current) = latest_price(sku, id, &region, checked) else {
                    continue;
                };
                if same_price(current, &new) {
                    continue;
                }
                match changed.iter_mut().find(|(p, _)| std::ptr::eq(*p, current)) {
                    Some((_, regions)) => regions.push(region),
                    None => changed.push((current, vec![region])),
                }
            }
            for (current, regions) in changed {
                plan.changes.push(PriceChange {
                    service: service_key.to_owned(),
                    sku: sku_key.clone(),
                    catalog_sku_id: id.to_owned(),
                    regions,
                    effective: new.effective,
                    old: (current.tiers.clone(), current.free_per_month),
                    new: (new.tiers.clone(), new.free_per_month),
                });
            }
        }
    }
    Ok(plan)
}

/// Whether a price of `sku` is the one of Catalog SKU `id`.
fn covers(sku: &Sku, price: &RegionalPrice, id: &str) -> bool {
    match price.catalog_sku_id.as_deref() {
        Some(own) => own == id,
        None => sku.catalog_sku_id.as_deref() == Some(id),
    }
}

/// The regions the prices of Catalog SKU `id` name, sorted.
fn covered_regions(sku: &Sku, id: &str) -> Vec<String> {
    let mut regions: Vec<String> = sku
        .prices
        .iter()
        .filter(|p| covers(sku, p, id))
        .flat_map(|p| p.regions.iter().cloned())
        .collect();
    regions.sort();
    regions.dedup();
    regions
}

/// The price of Catalog SKU `id` in force in `region` on `day`.
fn latest_price<'a>(
    sku: &'a Sku,
    id: &str,
    region: &str,
    day: NaiveDate,
) -> Option<&'a RegionalPrice> {
    sku.prices
        .iter()
        .filter(|p| {
            covers(sku, p, id) && p.effective <= day && p.regions.iter().any(|r| r == region)
        })
        .max_by_key(|p| p.effective)
}

/// Same free usage and the same rate per unit from the same starts.
fn same_price(a: &RegionalPrice, b: &RegionalPrice) -> bool {
    // The first tier covers usage from 0 whatever its stated start.
    let starts = |p: &RegionalPrice| {
        p.tiers
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let from = if i == 0 { Decimal::ZERO } else { t.from };
                (from.normalize(), t.unit_rate().normalize())
            })
            .collect::<Vec<_>>()
    };
    a.free_per_month.normalize() == b.free_per_month.normalize() && starts(a) == starts(b)
}

/// Refreshes `table.services[service_key]` from the Catalog: plans the
/// changes ([`plan_refresh`]) and applies them. Returns how many prices
/// changed. To show the changes before writing, call the two steps.
pub fn refresh(
    table: &mut PriceTable,
    service_key: &str,
    service: &CatalogService,
    skus: &[CatalogSku],
    checked: NaiveDate,
) -> Result<usize, Error> {
    let plan = plan_refresh(table, service_key, skus, checked)?;
    let source = format!("{DEFAULT_BASE_URL}services/{}/skus", service.service_id);
    plan.apply(table, &source, checked);
    Ok(plan.changes.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_units_and_nanos_are_exact() {
        let m = |units: Option<&str>, nanos| Money {
            currency_code: "USD".into(),
            units: units.map(str::to_owned),
            nanos,
        };
        assert_eq!(
            m(None, 24_000).to_decimal().unwrap().to_string(),
            "0.000024"
        );
        assert_eq!(
            m(Some("0"), 400_000).to_decimal().unwrap().to_string(),
            "0.0004"
        );
        assert_eq!(
            m(Some("-1"), -750_000_000)
                .to_decimal()
                .unwrap()
                .to_string(),
            "-1.75"
        );
        assert!(m(Some("x"), 0).to_decimal().is_err());
    }
}
