//! The settings every client builder takes, with their setters written
//! once for all clients.

use reqwest::Url;

use super::endpoint::Endpoint;
use super::error::Error;
use super::retry::RetryPolicy;
use crate::auth::TokenSource;
use crate::http::{self, Timeouts};

/// Configures a Google API client: the settings all clients share (API
/// root, tokens, timeouts, retries), and the options `O` of one client.
///
/// Each client names its own: [`BigQueryBuilder`] and [`CatalogBuilder`].
/// Their own setters (`page_size`, `location`, …) and `build` are listed
/// with them.
///
/// [`BigQueryBuilder`]: crate::bigquery::BigQueryBuilder
/// [`CatalogBuilder`]: crate::billing_catalog::CatalogBuilder
#[derive(Debug, Clone)]
pub struct ClientBuilder<O> {
    pub(crate) settings: ClientSettings,
    pub(crate) options: O,
}

/// The settings every client takes.
#[derive(Debug, Clone)]
pub(crate) struct ClientSettings {
    base_url: String,
    tokens: Option<TokenSource>,
    timeouts: Timeouts,
    retry: RetryPolicy,
}

impl<O> ClientBuilder<O> {
    /// A builder for the API at `base_url`, with default settings.
    pub(crate) fn new(base_url: &str, options: O) -> Self {
        ClientBuilder {
            settings: ClientSettings {
                base_url: base_url.to_owned(),
                tokens: None,
                timeouts: Timeouts::default(),
                retry: RetryPolicy::default(),
            },
            options,
        }
    }

    /// The API root (by default the client's `DEFAULT_BASE_URL`). Only
    /// this differs between Google and a fake.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.settings.base_url = url.into();
        self
    }

    /// Where tokens come from. Without one, requests carry no
    /// `Authorization` header (emulators).
    pub fn tokens(mut self, tokens: TokenSource) -> Self {
        self.settings.tokens = Some(tokens);
        self
    }

    /// HTTP timeouts of each request.
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.settings.timeouts = timeouts;
        self
    }

    /// How failed requests are retried: 429, 5xx but 501,
    /// `rateLimitExceeded`, `backendError` and transport failures (see
    /// [`Error::is_retryable`]). BigQuery jobs that failed in a retryable
    /// way run again as new jobs under the same bound
    /// ([`Error::is_job_retryable`]).
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.settings.retry = retry;
        self
    }
}

impl ClientSettings {
    /// The API root as a URL, always ending in `/` so that paths join
    /// below it.
    pub(crate) fn base(&self) -> Result<Url, Error> {
        let mut base: Url = self
            .base_url
            .parse()
            .map_err(|e| Error::Invalid(format!("base URL `{}`: {e}", self.base_url)))?;
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        Ok(base)
    }

    /// The endpoint at `base` (from [`ClientSettings::base`]). Fails, and
    /// never panics, when https is asked for on a machine without CA
    /// certificates.
    pub(crate) fn connect(self, base: Url) -> Result<Endpoint, Error> {
        let http = http::reqwest_client(&base, self.timeouts)?;
        Ok(Endpoint {
            http,
            base,
            tokens: self.tokens,
            retry: self.retry,
        })
    }
}
