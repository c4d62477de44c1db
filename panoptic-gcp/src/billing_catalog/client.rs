//! The Catalog client: `services.list` and `services.skus.list`, every
//! page of each.

use std::sync::Arc;

use reqwest::Url;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{CatalogService, CatalogSku, DEFAULT_BASE_URL};
use crate::auth::Secret;
use crate::rest::{ClientBuilder, Endpoint, Error};

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
