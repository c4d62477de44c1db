//! HTTP transport shared by the clients: one ring-based rustls
//! configuration over the system's CA certificates, a reqwest client built
//! from it, and a hyper connector for yup-oauth2.
//!
//! Nothing here panics when the machine has no CA certificates: plain-http
//! endpoints work, and an https endpoint fails with
//! [`TransportError::NoRootCertificates`].

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_rustls::{HttpsConnector, MaybeHttpsStream};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioIo;
use rustls::{ClientConfig, RootCertStore};
use tokio::net::TcpStream;

/// Why an HTTP client could not be made or could not connect.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// https was asked for, and the system has no CA certificates to verify it.
    #[error(
        "no CA certificates found on this system, so https to `{host}` cannot be verified; \
         install the ca-certificates package or point SSL_CERT_FILE at a PEM bundle"
    )]
    NoRootCertificates {
        /// The host that was to be reached.
        host: String,
    },
    /// The client could not be configured.
    #[error("cannot build the HTTP client: {0}")]
    Build(String),
}

/// The system's CA certificates, read once; `None` when there are none.
fn system_roots() -> Option<Arc<RootCertStore>> {
    static ROOTS: OnceLock<Option<Arc<RootCertStore>>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let found = rustls_native_certs::load_native_certs();
            let mut store = RootCertStore::empty();
            let (added, _) = store.add_parsable_certificates(found.certs);
            (added > 0).then(|| Arc::new(store))
        })
        .clone()
}

/// A rustls client configuration over the system roots (empty when there
/// are none: then only plain http can be used, which the callers check).
fn tls_config() -> Result<(ClientConfig, bool), TransportError> {
    let roots = system_roots();
    let has_roots = roots.is_some();
    let store = roots.map_or_else(RootCertStore::empty, |r| (*r).clone());
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| TransportError::Build(e.to_string()))?
            .with_root_certificates(store)
            .with_no_client_auth();
    Ok((config, has_roots))
}

/// Timeouts of a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Whole request, connection to last body byte.
    pub request: Duration,
    /// TCP (and TLS) connection.
    pub connect: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            request: Duration::from_secs(60),
            connect: Duration::from_secs(10),
        }
    }
}

/// A reqwest client for `base_url`'s scheme.
pub(crate) fn reqwest_client(
    base_url: &reqwest::Url,
    timeouts: Timeouts,
) -> Result<reqwest::Client, TransportError> {
    let (config, has_roots) = tls_config()?;
    if base_url.scheme() == "https" && !has_roots {
        return Err(TransportError::NoRootCertificates {
            host: base_url.host_str().unwrap_or_default().to_owned(),
        });
    }
    reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .timeout(timeouts.request)
        .connect_timeout(timeouts.connect)
        .user_agent(concat!("panoptic-gcp/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| TransportError::Build(e.to_string()))
}

/// The hyper connector yup-oauth2 uses: https through rustls when the
/// system has CA certificates, plain http always, and optional routes that
/// send a host's requests to a local plain-http address (fakes of endpoints
/// that yup-oauth2 hard-codes).
#[derive(Clone)]
pub struct OAuthConnector {
    https: HttpsConnector<HttpConnector>,
    plain: HttpConnector,
    has_roots: bool,
    routes: Arc<HashMap<String, SocketAddr>>,
}

impl std::fmt::Debug for OAuthConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthConnector")
            .field("has_roots", &self.has_roots)
            .field("routes", &self.routes)
            .finish_non_exhaustive()
    }
}

impl OAuthConnector {
    pub(crate) fn new(
        routes: HashMap<String, SocketAddr>,
        connect: Duration,
    ) -> Result<OAuthConnector, TransportError> {
        let (config, has_roots) = tls_config()?;
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(connect));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(config)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http.clone());
        Ok(OAuthConnector {
            https,
            plain: http,
            has_roots,
            routes: Arc::new(routes),
        })
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Stream = MaybeHttpsStream<TokioIo<TcpStream>>;

impl tower_service::Service<http::Uri> for OAuthConnector {
    type Response = Stream;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Stream, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Both inner connectors are always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        let host = uri.host().unwrap_or_default().to_owned();
        if let Some(addr) = self.routes.get(&host) {
            let mut plain = self.plain.clone();
            let target = format!("http://{addr}/").parse::<http::Uri>();
            return Box::pin(async move {
                let tcp = tower_service::Service::call(&mut plain, target?).await?;
                Ok(MaybeHttpsStream::Http(tcp))
            });
        }
        if uri.scheme_str() == Some("https") && !self.has_roots {
            return Box::pin(
                async move { Err(TransportError::NoRootCertificates { host }.into()) },
            );
        }
        let fut = tower_service::Service::call(&mut self.https, uri);
        Box::pin(fut)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_clients_build_whatever_the_roots() {
        let url: reqwest::Url = "http://127.0.0.1:1/".parse().unwrap();
        assert!(reqwest_client(&url, Timeouts::default()).is_ok());
        let https: reqwest::Url = "https://bigquery.googleapis.com/".parse().unwrap();
        match reqwest_client(&https, Timeouts::default()) {
            Ok(_) => assert!(system_roots().is_some()),
            Err(e) => {
                assert!(system_roots().is_none());
                assert!(e.to_string().contains("bigquery.googleapis.com"), "{e}");
            }
        }
    }
}
