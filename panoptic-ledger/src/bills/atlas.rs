//! MongoDB Atlas invoices, from the Atlas Administration API (v2): the
//! organization's invoices that overlap the days asked (closed ones read
//! one by one for their line items, the pending one as it accrues), each
//! line item a bill line per UTC day it covers.
//!
//! Atlas answers programmatic API keys with HTTP Digest authentication:
//! the public key is the user name, the private key the password. A line
//! item's `totalPriceCents` is its list cost; `discountCents`, when given,
//! is taken off for the net. Items of the pending invoice are estimated
//! (the month is still accruing): late data, which `--apply` leaves alone.

use chrono::{DateTime, Days, NaiveDate, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::bills::http::Endpoint;
use crate::bills::{BillError, BillLine, BillSource};

/// The Atlas Administration API.
pub const DEFAULT_ENDPOINT: &str = "https://cloud.mongodb.com/";
const SOURCE: &str = "MongoDB Atlas invoices";
/// The API version the replies are read as.
const ACCEPT: &str = "application/vnd.atlas.2023-01-01+json";
/// Invoices asked per page of the list.
const PER_PAGE: u32 = 100;

/// Atlas invoices as a bill source.
#[derive(Clone)]
pub struct AtlasInvoices {
    endpoint: Endpoint,
    public_key: String,
    private_key: String,
    org_id: String,
}

impl std::fmt::Debug for AtlasInvoices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The private key stays out of logs.
        f.debug_struct("AtlasInvoices")
            .field("endpoint", &self.endpoint.url.as_str())
            .field("org_id", &self.org_id)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Page<T> {
    #[serde(default = "Vec::new")]
    results: Vec<T>,
    #[serde(rename = "totalCount", default)]
    total_count: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Invoice {
    id: String,
    start_date: DateTime<Utc>,
    end_date: DateTime<Utc>,
    #[serde(default)]
    status_name: String,
    #[serde(default)]
    line_items: Vec<LineItem>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LineItem {
    cluster_name: Option<String>,
    sku: Option<String>,
    start_date: DateTime<Utc>,
    end_date: DateTime<Utc>,
    #[serde(default)]
    total_price_cents: i64,
    discount_cents: Option<i64>,
}

impl AtlasInvoices {
    /// The invoices of organization `org_id`, read with an API key pair.
    pub fn new(
        public_key: impl Into<String>,
        private_key: impl Into<String>,
        org_id: impl Into<String>,
    ) -> Result<AtlasInvoices, BillError> {
        let org_id = org_id.into();
        if org_id.len() != 24 || !org_id.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(BillError::Config(format!(
                "an Atlas organization id is 24 hexadecimal digits, not `{org_id}`"
            )));
        }
        Ok(AtlasInvoices {
            endpoint: Endpoint::new(DEFAULT_ENDPOINT)?,
            public_key: public_key.into(),
            private_key: private_key.into(),
            org_id,
        })
    }

    /// Keys from `MONGODB_ATLAS_PUBLIC_KEY` and `MONGODB_ATLAS_PRIVATE_KEY`
    /// (the Atlas CLI's names).
    pub fn from_env(org_id: impl Into<String>) -> Result<AtlasInvoices, BillError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        match (
            var("MONGODB_ATLAS_PUBLIC_KEY"),
            var("MONGODB_ATLAS_PRIVATE_KEY"),
        ) {
            (Some(public), Some(private)) => AtlasInvoices::new(public, private, org_id),
            _ => Err(BillError::Config(
                "Atlas invoices need MONGODB_ATLAS_PUBLIC_KEY and MONGODB_ATLAS_PRIVATE_KEY".into(),
            )),
        }
    }

    /// Another endpoint (a proxy, a local fake).
    pub fn endpoint(mut self, url: &str) -> Result<AtlasInvoices, BillError> {
        self.endpoint = Endpoint::new(url)?;
        Ok(self)
    }

    /// GETs `path` (with `query`), answering the Digest challenge.
    async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, BillError> {
        let mut url = self
            .endpoint
            .url
            .join(path)
            .map_err(|e| BillError::Config(e.to_string()))?;
        url.query_pairs_mut().extend_pairs(query);
        let request = || {
            self.endpoint
                .client
                .get(url.clone())
                .header("accept", ACCEPT)
        };
        let first = request()
            .send()
            .await
            .map_err(|e| BillError::http(SOURCE, e))?;
        let reply = if first.status() == reqwest::StatusCode::UNAUTHORIZED {
            let challenge = first
                .headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| BillError::decode(SOURCE, "401 without a Digest challenge"))?;
            let mut prompt =
                digest_auth::parse(challenge).map_err(|e| BillError::decode(SOURCE, e))?;
            let uri = match url.query() {
                Some(q) => format!("{}?{q}", url.path()),
                None => url.path().to_owned(),
            };
            let context = digest_auth::AuthContext::new(
                self.public_key.as_str(),
                self.private_key.as_str(),
                uri.as_str(),
            );
            let answer = prompt
                .respond(&context)
                .map_err(|e| BillError::decode(SOURCE, e))?;
            request()
                .header("authorization", answer.to_header_string())
                .send()
                .await
                .map_err(|e| BillError::http(SOURCE, e))?
        } else {
            first
        };
        if !reply.status().is_success() {
            return Err(BillError::from_reply(SOURCE, reply).await);
        }
        reply.json().await.map_err(|e| BillError::decode(SOURCE, e))
    }

    /// Every invoice of the organization, page by page.
    async fn invoices(&self) -> Result<Vec<Invoice>, BillError> {
        let path = format!("api/atlas/v2/orgs/{}/invoices", self.org_id);
        let mut all = Vec::new();
        for page_number in 1.. {
            let page: Page<Invoice> = self
                .get(
                    &path,
                    &[
                        ("pageNum", page_number.to_string()),
                        ("itemsPerPage", PER_PAGE.to_string()),
                    ],
                )
                .await?;
            let got = page.results.len();
            all.extend(page.results);
            let total = page.total_count.unwrap_or(0) as usize;
            if got < PER_PAGE as usize || all.len() >= total {
                break;
            }
        }
        Ok(all)
    }
}

/// An item's cost per UTC day it covers, in proportion to its time in
/// each (an item usually covers one day).
fn daily(item: &LineItem) -> Vec<(NaiveDate, Decimal, Decimal)> {
    let list = Decimal::new(item.total_price_cents, 2);
    let net = list - Decimal::new(item.discount_cents.unwrap_or(0), 2);
    let seconds = (item.end_date - item.start_date).num_seconds();
    if seconds <= 0 {
        return vec![(item.start_date.date_naive(), list, net)];
    }
    let total = Decimal::from(seconds);
    let mut days = Vec::new();
    let mut day = item.start_date.date_naive();
    let mut shared = (Decimal::ZERO, Decimal::ZERO);
    while let Some(next) = day.checked_add_days(Days::new(1)) {
        let from = item
            .start_date
            .max(day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
        let to = item
            .end_date
            .min(next.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
        if to <= item.start_date {
            day = next;
            continue;
        }
        if from >= item.end_date {
            break;
        }
        let part = Decimal::from((to - from).num_seconds()) / total;
        let last = to >= item.end_date;
        // The last day takes what rounding left, so the days sum to the item.
        let (day_list, day_net) = if last {
            (list - shared.0, net - shared.1)
        } else {
            ((list * part).round_dp(6), (net * part).round_dp(6))
        };
        shared = (shared.0 + day_list, shared.1 + day_net);
        days.push((day, day_list, day_net));
        if last {
            break;
        }
        day = next;
    }
    days
}

impl BillSource for AtlasInvoices {
    fn provider(&self) -> &str {
        "mongodb_atlas"
    }

    fn time_zone(&self) -> Tz {
        Tz::UTC
    }

    async fn lines(&self, start: NaiveDate, end: NaiveDate) -> Result<Vec<BillLine>, BillError> {
        let day_start = |d: NaiveDate| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
        let (from, to) = (day_start(start), day_start(end));
        let mut invoices = Vec::new();
        for invoice in self.invoices().await? {
            if invoice.start_date >= to || invoice.end_date <= from {
                continue;
            }
            // The list leaves the items out: each invoice read in full.
            let path = format!("api/atlas/v2/orgs/{}/invoices/{}", self.org_id, invoice.id);
            invoices.push(self.get::<Invoice>(&path, &[]).await?);
        }
        let pending: Page<Invoice> = self
            .get(
                &format!("api/atlas/v2/orgs/{}/invoices/pending", self.org_id),
                &[],
            )
            .await?;
        for invoice in pending.results {
            if !invoices.iter().any(|i| i.id == invoice.id) {
                invoices.push(invoice);
            }
        }
        let mut lines = Vec::new();
        for invoice in &invoices {
            let accruing = invoice.status_name == "PENDING";
            for item in &invoice.line_items {
                for (day, list, net) in daily(item) {
                    if day < start || day >= end {
                        continue;
                    }
                    let mut line = BillLine::new("mongodb_atlas", day, list, net);
                    // Cluster items are the cluster's time; the rest (backup,
                    // transfer, support) is named by its SKU.
                    line.service = Some("Cluster".to_owned());
                    line.resource = item.cluster_name.clone();
                    line.detail = item.sku.clone();
                    line.estimated = accruing;
                    if !line.credits.is_zero() {
                        line.credits_by_type = vec![("DISCOUNT".to_owned(), line.credits)];
                    }
                    lines.push(line);
                }
            }
        }
        Ok(lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(start: &str, end: &str, cents: i64) -> LineItem {
        LineItem {
            cluster_name: Some("prod".into()),
            sku: Some("ATLAS_AWS_INSTANCE_M10".into()),
            start_date: start.parse().unwrap(),
            end_date: end.parse().unwrap(),
            total_price_cents: cents,
            discount_cents: Some(1),
        }
    }

    #[test]
    fn an_item_is_shared_over_the_days_it_covers_to_the_cent() {
        let days = daily(&item("2026-12-01T18:00:00Z", "2026-12-03T06:00:00Z", 361));
        let dates: Vec<String> = days.iter().map(|d| d.0.to_string()).collect();
        assert_eq!(dates, ["2026-12-01", "2026-12-02", "2026-12-03"]);
        // 6 h, 24 h, 6 h of 36 h.
        assert_eq!(
            days[0].1,
            (Decimal::new(361, 2) / Decimal::from(6)).round_dp(6)
        );
        assert_eq!(
            days[1].1,
            (Decimal::new(361, 2) * Decimal::from(24) / Decimal::from(36)).round_dp(6)
        );
        let list: Decimal = days.iter().map(|d| d.1).sum();
        let net: Decimal = days.iter().map(|d| d.2).sum();
        assert_eq!(list, Decimal::new(361, 2));
        assert_eq!(net, Decimal::new(360, 2));
        let one = daily(&item("2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z", 192));
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].1, Decimal::new(192, 2));
    }

    #[test]
    fn an_org_id_must_be_24_hex_digits() {
        assert!(AtlasInvoices::new("k", "s", "not-an-org").is_err());
        assert!(AtlasInvoices::new("k", "s", "5f1b2c3d4e5f60718293a4b5").is_ok());
    }
}
