//! OpenAI's organization Costs API: `GET /v1/organization/costs`, read
//! with an admin key, in daily UTC buckets grouped by line item
//! (`gpt-4o-mini-2024-07-18, input`), page after page.
//!
//! Line items name models, not endpoints, so the lines carry no service:
//! the reconciliation compares OpenAI per day (and shows the line items).

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

use crate::bills::http::{Endpoint, send_json};
use crate::bills::{BillError, BillLine, BillSource, decimal_of};

/// The API's address.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1/";
/// Buckets per page: the API's maximum.
const PAGE_LIMIT: &str = "180";
const SOURCE: &str = "OpenAI Costs API";

/// OpenAI's Costs API as a bill source.
#[derive(Clone)]
pub struct OpenAiCosts {
    endpoint: Endpoint,
    admin_key: String,
    project_ids: Vec<String>,
}

impl std::fmt::Debug for OpenAiCosts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The admin key stays out of logs.
        f.debug_struct("OpenAiCosts")
            .field("base", &self.endpoint.url.as_str())
            .field("project_ids", &self.project_ids)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Page {
    data: Vec<Bucket>,
    #[serde(default)]
    has_more: bool,
    next_page: Option<String>,
}

#[derive(Deserialize)]
struct Bucket {
    start_time: i64,
    #[serde(default)]
    results: Vec<CostResult>,
}

#[derive(Deserialize)]
struct CostResult {
    amount: Option<Amount>,
    line_item: Option<String>,
    project_id: Option<String>,
}

#[derive(Deserialize)]
struct Amount {
    value: serde_json::Number,
    currency: Option<String>,
}

impl OpenAiCosts {
    /// The Costs API at api.openai.com with this admin key.
    pub fn new(admin_key: impl Into<String>) -> Result<OpenAiCosts, BillError> {
        Ok(OpenAiCosts {
            endpoint: Endpoint::new(DEFAULT_BASE_URL)?,
            admin_key: admin_key.into(),
            project_ids: Vec::new(),
        })
    }

    /// Another address for the API (`…/v1/`): a proxy, a local fake.
    pub fn base_url(mut self, url: &str) -> Result<OpenAiCosts, BillError> {
        self.endpoint = Endpoint::new(url)?;
        Ok(self)
    }

    /// Only this project's costs (may be given several times).
    pub fn project(mut self, project_id: impl Into<String>) -> OpenAiCosts {
        self.project_ids.push(project_id.into());
        self
    }

    async fn page(
        &self,
        start: NaiveDate,
        end: NaiveDate,
        page: Option<&str>,
    ) -> Result<Page, BillError> {
        let url = self
            .endpoint
            .url
            .join("organization/costs")
            .map_err(|e| BillError::Config(e.to_string()))?;
        let seconds = |day: NaiveDate| midnight(day).timestamp().to_string();
        let mut query = vec![
            ("start_time", seconds(start)),
            ("end_time", seconds(end)),
            ("bucket_width", "1d".to_owned()),
            ("group_by", "line_item".to_owned()),
            ("limit", PAGE_LIMIT.to_owned()),
        ];
        for project in &self.project_ids {
            query.push(("project_ids", project.clone()));
        }
        if let Some(page) = page {
            query.push(("page", page.to_owned()));
        }
        let request = self
            .endpoint
            .client
            .get(url)
            .bearer_auth(&self.admin_key)
            .query(&query);
        send_json(SOURCE, request).await
    }
}

fn midnight(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc()
}

impl BillSource for OpenAiCosts {
    fn provider(&self) -> &str {
        "openai"
    }

    fn time_zone(&self) -> Tz {
        Tz::UTC
    }

    async fn lines(&self, start: NaiveDate, end: NaiveDate) -> Result<Vec<BillLine>, BillError> {
        let mut lines = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self.page(start, end, cursor.as_deref()).await?;
            for bucket in page.data {
                let day = DateTime::from_timestamp(bucket.start_time, 0)
                    .ok_or_else(|| BillError::decode(SOURCE, "bucket start_time out of range"))?
                    .date_naive();
                for result in bucket.results {
                    let Some(amount) = result.amount else {
                        continue;
                    };
                    let value = decimal_of(&amount.value).ok_or_else(|| {
                        BillError::decode(SOURCE, format!("amount {}", amount.value))
                    })?;
                    // The Costs API reports what is charged: no list/credit split.
                    let mut line = BillLine::new("openai", day, value, value);
                    line.currency = amount
                        .currency
                        .unwrap_or_else(|| "usd".into())
                        .to_uppercase();
                    line.detail = match (result.line_item, result.project_id) {
                        (Some(item), _) => Some(item),
                        (None, project) => project,
                    };
                    lines.push(line);
                }
            }
            match page.next_page {
                Some(next) if page.has_more => cursor = Some(next),
                _ => break,
            }
        }
        Ok(lines)
    }
}
