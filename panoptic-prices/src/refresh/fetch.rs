//! Where an offer file comes from: the Price List bulk API over https
//! (rustls with ring over the system's CA certificates; no panic on a
//! machine without them), or a file on disk.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use rustls::{ClientConfig, RootCertStore};

use super::RefreshError;

/// The root of the AWS Price List bulk API.
pub const AWS_PRICING_URL: &str = "https://pricing.us-east-1.amazonaws.com";

/// Some offer files (S3) run to tens of megabytes.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// Where one offer file is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OfferSource {
    /// Fetched with `GET`.
    Url(String),
    /// Read from disk.
    File(PathBuf),
}

impl fmt::Display for OfferSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OfferSource::Url(url) => f.write_str(url),
            OfferSource::File(path) => write!(f, "{}", path.display()),
        }
    }
}

impl OfferSource {
    /// The offer file of service `offer_code` (`AWSLambda`) in `region`
    /// under the bulk API's `root`.
    pub fn bulk_api(root: &str, offer_code: &str, region: &str) -> OfferSource {
        let root = root.trim_end_matches('/');
        OfferSource::Url(format!(
            "{root}/offers/v1.0/aws/{offer_code}/current/{region}/index.json"
        ))
    }

    /// The file's text.
    pub async fn read(&self) -> Result<String, RefreshError> {
        match self {
            OfferSource::File(path) => {
                std::fs::read_to_string(path).map_err(|error| RefreshError::File {
                    path: path.clone(),
                    action: "read",
                    error,
                })
            }
            OfferSource::Url(url) => get(url).await,
        }
    }
}

/// `GET url` as text; a status other than 2xx is an error naming it.
async fn get(url: &str) -> Result<String, RefreshError> {
    let failed = |message: String| RefreshError::Fetch {
        url: url.to_owned(),
        message,
    };
    let parsed: Url = url.parse().map_err(|e| failed(format!("not a URL: {e}")))?;
    let response = client(&parsed)?
        .get(parsed)
        .send()
        .await
        .map_err(|e| failed(chain(&e)))?;
    let status = response.status();
    if !status.is_success() {
        return Err(failed(format!("HTTP {status}")));
    }
    response.text().await.map_err(|e| failed(chain(&e)))
}

/// A client for `url`'s scheme: https needs the system's CA certificates.
fn client(url: &Url) -> Result<reqwest::Client, RefreshError> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(found.certs);
    if url.scheme() == "https" && added == 0 {
        return Err(RefreshError::NoRootCertificates {
            host: url.host_str().unwrap_or_default().to_owned(),
        });
    }
    let build = |message: String| RefreshError::Fetch {
        url: url.to_string(),
        message: format!("cannot build the HTTP client: {message}"),
    };
    // ring, not reqwest's default aws-lc (a long C build).
    let tls =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| build(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .user_agent(concat!("panoptic-prices/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| build(e.to_string()))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bulk_api_urls_name_the_service_and_region() {
        assert_eq!(
            OfferSource::bulk_api("http://prices.test/", "AWSLambda", "eu-west-1").to_string(),
            "http://prices.test/offers/v1.0/aws/AWSLambda/current/eu-west-1/index.json"
        );
    }

    #[tokio::test]
    async fn a_closed_port_is_one_line_naming_the_url() {
        let closed = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            format!("http://{}/index.json", listener.local_addr().unwrap())
        };
        let error = OfferSource::Url(closed.clone()).read().await.unwrap_err();
        let text = error.to_string();
        assert!(matches!(error, RefreshError::Fetch { .. }), "{text}");
        assert!(text.contains(&closed) && text.contains("failed"), "{text}");
        assert_eq!(text.lines().count(), 1, "{text}");
    }

    #[tokio::test]
    async fn a_missing_file_says_which() {
        let error = OfferSource::File("/nonexistent/offer.json".into())
            .read()
            .await
            .unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("/nonexistent/offer.json: cannot read:"),
            "{error}"
        );
    }
}
