//! One JSON request to a Google API, with a bearer token and bounded
//! retries.

use reqwest::Url;
use serde::de::DeserializeOwned;

use super::error::{ApiError, Error};
use super::retry::RetryPolicy;
use crate::auth::TokenSource;

/// A Google API root and what it takes to call it. Made by
/// [`ClientSettings::connect`](super::settings::ClientSettings::connect).
#[derive(Debug)]
pub(crate) struct Endpoint {
    pub(crate) http: reqwest::Client,
    pub(crate) base: Url,
    pub(crate) tokens: Option<TokenSource>,
    pub(crate) retry: RetryPolicy,
}

impl Endpoint {
    /// The URL of `segments` below the API root.
    pub(crate) fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// `GET url` with the query parameters `params`.
    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        url: &Url,
        params: &[(&str, String)],
    ) -> Result<T, Error> {
        self.send(url, |http| http.get(url.clone()).query(params))
            .await
    }

    /// Sends the request that `request` builds, with a fresh token, and
    /// reads the JSON answer. What may succeed later is sent again, as
    /// the retry policy allows. `url` names the endpoint in errors.
    pub(crate) async fn send<T, F>(&self, url: &Url, request: F) -> Result<T, Error>
    where
        T: DeserializeOwned,
        F: Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    {
        let shown = || {
            let mut u = url.clone();
            u.set_query(None);
            u.to_string()
        };
        let failed = |e: reqwest::Error| Error::Http {
            url: shown(),
            message: error_chain(&e),
            timeout: e.is_timeout(),
        };
        self.retry
            .run(
                || async {
                    let mut req = request(&self.http);
                    if let Some(tokens) = &self.tokens {
                        req = req.bearer_auth(tokens.token().await?.expose());
                    }
                    let resp = req.send().await.map_err(failed)?;
                    let status = resp.status();
                    let text = resp.text().await.map_err(failed)?;
                    if !status.is_success() {
                        return Err(Error::Api(ApiError::from_body(status.as_u16(), &text)));
                    }
                    serde_json::from_str(&text).map_err(|e| Error::Decode {
                        url: shown(),
                        message: e.to_string(),
                    })
                },
                |_, _| {},
            )
            .await
    }
}

/// An error with its causes, which reqwest keeps out of `Display`. The
/// URL that reqwest adds is dropped: it is reported separately.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = Vec::new();
    let mut current = error.source();
    while let Some(e) = current {
        parts.push(e.to_string());
        current = e.source();
    }
    if parts.is_empty() {
        error.to_string()
    } else {
        parts.join(": ")
    }
}
