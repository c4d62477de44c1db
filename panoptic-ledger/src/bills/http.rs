//! The HTTP client of the sources: reqwest over a ring-based rustls
//! configuration with the system's CA certificates (no aws-lc build), and
//! no panic when there are none: plain-http endpoints still work.

use std::sync::Arc;
use std::time::Duration;

use rustls::{ClientConfig, RootCertStore};
use serde::de::DeserializeOwned;

use crate::bills::BillError;

/// An API's address and the client that reaches it, made together: https
/// needs certificates, a plain-http fake does not.
#[derive(Clone)]
pub(crate) struct Endpoint {
    pub(crate) client: reqwest::Client,
    pub(crate) url: reqwest::Url,
}

impl Endpoint {
    /// The API at `url` (a trailing slash is added: joins keep its path).
    pub(crate) fn new(url: &str) -> Result<Endpoint, BillError> {
        let url = base_url(url)?;
        Ok(Endpoint {
            client: client(&url)?,
            url,
        })
    }
}

/// Sends `request` and decodes its JSON reply; an error status is a
/// [`BillError::Api`] with the start of the body.
pub(crate) async fn send_json<T: DeserializeOwned>(
    source_name: &'static str,
    request: reqwest::RequestBuilder,
) -> Result<T, BillError> {
    let reply = request
        .send()
        .await
        .map_err(|e| BillError::http(source_name, e))?;
    if !reply.status().is_success() {
        return Err(BillError::from_reply(source_name, reply).await);
    }
    reply
        .json()
        .await
        .map_err(|e| BillError::decode(source_name, e))
}

/// A client for `base`; https needs the system's CA certificates.
fn client(base: &reqwest::Url) -> Result<reqwest::Client, BillError> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(found.certs);
    if base.scheme() == "https" && added == 0 {
        return Err(BillError::Config(format!(
            "no CA certificates found, so https to `{}` cannot be verified; install ca-certificates",
            base.host_str().unwrap_or_default()
        )));
    }
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| BillError::Config(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .timeout(Duration::from_secs(60))
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("panoptic-bills/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| BillError::Config(format!("cannot build the HTTP client: {e}")))
}

/// `base` with a trailing slash, so that joining keeps its path.
fn base_url(text: &str) -> Result<reqwest::Url, BillError> {
    let text = if text.ends_with('/') {
        text.to_owned()
    } else {
        format!("{text}/")
    };
    reqwest::Url::parse(&text).map_err(|e| BillError::Config(format!("bad URL `{text}`: {e}")))
}
