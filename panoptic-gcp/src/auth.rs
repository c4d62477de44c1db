//! Google OAuth access tokens through yup-oauth2: service-account keys,
//! `GOOGLE_APPLICATION_CREDENTIALS`, gcloud's authorized-user file and the
//! metadata server, each cached until shortly before it expires.
//!
//! Tokens and keys are [`Secret`]s: they never appear in `Debug`, `Display`
//! or error text. yup-oauth2 itself logs token requests and replies at
//! `debug` level through the `log` crate: keep the `yup_oauth2` target
//! below `debug` in any `log` backend you install.
//!
//! ```no_run
//! use panoptic_gcp::auth::{AuthOptions, TokenSource};
//!
//! # async fn run() -> Result<(), panoptic_gcp::auth::AuthError> {
//! // GOOGLE_APPLICATION_CREDENTIALS, else gcloud's file, else the metadata server.
//! let tokens = TokenSource::application_default(AuthOptions::default()).await?;
//! let token = tokens.token().await?;
//! # let _ = token; Ok(()) }
//! ```

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;
use yup_oauth2::authenticator::{ApplicationDefaultCredentialsTypes, Authenticator};
use yup_oauth2::authorized_user::AuthorizedUserSecret;
use yup_oauth2::{
    ApplicationDefaultCredentialsAuthenticator, ApplicationDefaultCredentialsFlowOpts,
    AuthorizedUserAuthenticator, CustomHyperClientBuilder, HttpClient, HyperClientBuilder,
    ServiceAccountAuthenticator, ServiceAccountKey,
};

use crate::http::{OAuthConnector, TransportError};

/// The scope every client here needs.
pub const CLOUD_PLATFORM_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";

/// Text that must not be shown: an access token, a key, a refresh token.
/// `Debug` and `Display` print `***`.
///
/// ```
/// let s = panoptic_gcp::auth::Secret::new("ya29.very-secret");
/// assert_eq!(format!("{s:?} {s}"), "Secret(***) ***");
/// assert_eq!(s.expose(), "ya29.very-secret");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(Arc::from(value.into()))
    }

    /// The value itself, for an `Authorization` header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Why no token could be had. Never holds the token, key or refresh token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// A credentials file could not be read.
    #[error("cannot read credentials file {path}: {reason}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The credentials are not of a known shape.
    #[error("invalid credentials ({what}): {reason}")]
    Invalid {
        /// What was being read.
        what: String,
        /// What is wrong (positions, not content).
        reason: String,
    },
    /// Nothing to authenticate with.
    #[error("no Google credentials found: {0}")]
    NotFound(String),
    /// The token endpoint refused or failed.
    #[error("token request failed ({source_kind}): {message}")]
    Token {
        /// Which credentials were used.
        source_kind: &'static str,
        /// What the endpoint or the transport said.
        message: String,
    },
    /// The HTTP transport could not be set up.
    #[error(transparent)]
    Transport(#[from] TransportError),
}

/// Where tokens come from.
#[derive(Clone)]
#[non_exhaustive]
pub enum Credentials {
    /// A service-account key (JSON as downloaded from the console).
    ServiceAccount(Arc<ServiceAccountKey>),
    /// gcloud's `application_default_credentials.json` (authorized user).
    AuthorizedUser(Arc<AuthorizedUserSecret>),
    /// The GCE / Cloud Run metadata server; `None` is Google's own URL.
    MetadataServer(Option<String>),
    /// A token obtained elsewhere, used as is.
    AccessToken(Secret),
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::ServiceAccount(key) => f
                .debug_struct("ServiceAccount")
                .field("client_email", &key.client_email)
                .field("token_uri", &key.token_uri)
                .finish_non_exhaustive(),
            Credentials::AuthorizedUser(_) => f.write_str("AuthorizedUser(***)"),
            Credentials::MetadataServer(url) => f.debug_tuple("MetadataServer").field(url).finish(),
            Credentials::AccessToken(_) => f.write_str("AccessToken(***)"),
        }
    }
}

impl Credentials {
    /// Reads a service-account key or an authorized-user file, telling them
    /// apart by their `type` field.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Credentials, AuthError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| AuthError::Read {
            path: path.to_owned(),
            reason: e.kind().to_string(),
        })?;
        Credentials::from_json(&bytes, &path.display().to_string())
    }

    /// Parses a credentials JSON document; `what` names it in errors.
    pub fn from_json(json: &[u8], what: &str) -> Result<Credentials, AuthError> {
        #[derive(serde::Deserialize)]
        struct Kind {
            #[serde(rename = "type")]
            kind: Option<String>,
        }
        let invalid = |reason: String| AuthError::Invalid {
            what: what.to_owned(),
            reason,
        };
        // serde_json errors can quote a value; report only where and what class.
        let describe = |e: serde_json::Error| {
            format!(
                "{:?} error at line {} column {}",
                e.classify(),
                e.line(),
                e.column()
            )
        };
        let kind: Kind = serde_json::from_slice(json).map_err(|e| invalid(describe(e)))?;
        match kind.kind.as_deref() {
            Some("service_account") => {
                let key: ServiceAccountKey =
                    serde_json::from_slice(json).map_err(|e| invalid(describe(e)))?;
                Ok(Credentials::ServiceAccount(Arc::new(key)))
            }
            Some("authorized_user") => {
                let secret: AuthorizedUserSecret =
                    serde_json::from_slice(json).map_err(|e| invalid(describe(e)))?;
                Ok(Credentials::AuthorizedUser(Arc::new(secret)))
            }
            Some(other) => Err(invalid(format!(
                "type `{other}` is not supported (service_account, authorized_user)"
            ))),
            None => Err(invalid("no `type` field".to_owned())),
        }
    }

    /// What kind of credentials these are, for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Credentials::ServiceAccount(_) => "service_account",
            Credentials::AuthorizedUser(_) => "authorized_user",
            Credentials::MetadataServer(_) => "metadata_server",
            Credentials::AccessToken(_) => "access_token",
        }
    }
}

/// How tokens are requested.
#[derive(Debug, Clone)]
pub struct AuthOptions {
    /// OAuth scopes; [`CLOUD_PLATFORM_SCOPE`] by default.
    pub scopes: Vec<String>,
    /// Timeout of one token request.
    pub timeout: Duration,
    /// Send requests for a host to a plain-http address instead, e.g.
    /// `oauth2.googleapis.com` or `accounts.google.com` to a local fake in
    /// tests. Empty in production.
    pub routes: HashMap<String, SocketAddr>,
}

impl Default for AuthOptions {
    fn default() -> Self {
        AuthOptions {
            scopes: vec![CLOUD_PLATFORM_SCOPE.to_owned()],
            timeout: Duration::from_secs(30),
            routes: HashMap::new(),
        }
    }
}

impl AuthOptions {
    /// Routes `host` to the plain-http `addr` (see [`AuthOptions::routes`]).
    pub fn route(mut self, host: impl Into<String>, addr: SocketAddr) -> AuthOptions {
        self.routes.insert(host.into(), addr);
        self
    }
}

/// Hands out access tokens, cached by yup-oauth2 until shortly before they
/// expire. Cheap to clone.
#[derive(Clone)]
pub struct TokenSource {
    inner: Arc<Inner>,
}

enum Inner {
    OAuth {
        kind: &'static str,
        auth: Authenticator<OAuthConnector>,
        scopes: Vec<String>,
    },
    Static(Secret),
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSource")
            .field("kind", &self.kind())
            .finish_non_exhaustive()
    }
}

impl TokenSource {
    /// A source for `credentials`.
    pub async fn new(
        credentials: Credentials,
        options: AuthOptions,
    ) -> Result<TokenSource, AuthError> {
        let kind = credentials.kind();
        let client = || -> Result<HttpClient<OAuthConnector>, AuthError> {
            let connector = OAuthConnector::new(options.routes.clone(), options.timeout)?;
            let hyper = HyperClient::builder(TokioExecutor::new())
                .pool_max_idle_per_host(0)
                .build::<_, String>(connector);
            // `CustomHyperClientBuilder` drops a timeout set on it. The
            // `HttpClient` it yields keeps one, so the timeout is set there.
            CustomHyperClientBuilder::from(hyper)
                .build_hyper_client()
                .map(|client| client.with_timeout(options.timeout))
                .map_err(|e| token_error(kind, &e))
        };
        let built = match credentials {
            Credentials::AccessToken(token) => {
                return Ok(TokenSource {
                    inner: Arc::new(Inner::Static(token)),
                });
            }
            Credentials::ServiceAccount(key) => {
                ServiceAccountAuthenticator::with_client((*key).clone(), client()?)
                    .build()
                    .await
            }
            Credentials::AuthorizedUser(secret) => {
                AuthorizedUserAuthenticator::with_client((*secret).clone(), client()?)
                    .build()
                    .await
            }
            Credentials::MetadataServer(url) => {
                let opts = ApplicationDefaultCredentialsFlowOpts { metadata_url: url };
                match ApplicationDefaultCredentialsAuthenticator::with_client(opts, client()?).await
                {
                    ApplicationDefaultCredentialsTypes::InstanceMetadata(builder) => {
                        builder.build().await
                    }
                    // yup-oauth2 prefers the key file whenever the variable is set.
                    ApplicationDefaultCredentialsTypes::ServiceAccount(_) => {
                        return Err(AuthError::Invalid {
                            what: kind.to_owned(),
                            reason: "GOOGLE_APPLICATION_CREDENTIALS is set; unset it to use the metadata server, or use the key file".to_owned(),
                        });
                    }
                }
            }
        };
        let auth = built.map_err(|e| AuthError::Invalid {
            what: kind.to_owned(),
            reason: e.kind().to_string(),
        })?;
        Ok(TokenSource {
            inner: Arc::new(Inner::OAuth {
                kind,
                auth,
                scopes: options.scopes,
            }),
        })
    }

    /// Application default credentials, in Google's order:
    /// `GOOGLE_APPLICATION_CREDENTIALS`, then gcloud's
    /// `application_default_credentials.json`, then the metadata server
    /// (`GCE_METADATA_HOST` overrides its host).
    pub async fn application_default(options: AuthOptions) -> Result<TokenSource, AuthError> {
        let credentials = application_default_credentials(&|name| std::env::var(name).ok())?;
        TokenSource::new(credentials, options).await
    }

    /// What kind of credentials this source uses.
    pub fn kind(&self) -> &'static str {
        match &*self.inner {
            Inner::OAuth { kind, .. } => kind,
            Inner::Static(_) => "access_token",
        }
    }

    /// A valid access token: the cached one, or a new one.
    pub async fn token(&self) -> Result<Secret, AuthError> {
        match &*self.inner {
            Inner::Static(token) => Ok(token.clone()),
            Inner::OAuth { kind, auth, scopes } => {
                let token = auth
                    .token(scopes)
                    .await
                    .map_err(|e| token_error(kind, &e))?;
                token
                    .token()
                    .map(Secret::new)
                    .ok_or_else(|| AuthError::Token {
                        source_kind: kind,
                        message: "the token endpoint returned no access_token".to_owned(),
                    })
            }
        }
    }
}

fn token_error(kind: &'static str, error: &yup_oauth2::Error) -> AuthError {
    AuthError::Token {
        source_kind: kind,
        message: error.to_string(),
    }
}

/// Picks application default credentials using `env` for variables.
pub(crate) fn application_default_credentials(
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Credentials, AuthError> {
    let set = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    if let Some(path) = set("GOOGLE_APPLICATION_CREDENTIALS") {
        return Credentials::from_file(path.trim());
    }
    let gcloud_dir = set("CLOUDSDK_CONFIG")
        .map(PathBuf::from)
        .or_else(|| set("APPDATA").map(|d| Path::new(&d).join("gcloud")))
        .or_else(|| set("HOME").map(|h| Path::new(&h).join(".config").join("gcloud")));
    if let Some(dir) = gcloud_dir {
        let file = dir.join("application_default_credentials.json");
        if file.is_file() {
            return Credentials::from_file(file);
        }
    }
    let url = set("GCE_METADATA_HOST").map(|host| {
        format!(
            "http://{}/computeMetadata/v1/instance/service-accounts/default/token",
            host.trim()
        )
    });
    Ok(Credentials::MetadataServer(url))
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER: &str = r#"{"type":"authorized_user","client_id":"cid","client_secret":"csecret","refresh_token":"rtoken-xyz"}"#;

    #[test]
    fn debug_and_errors_never_show_secrets() {
        let c = Credentials::from_json(USER.as_bytes(), "adc").unwrap();
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("rtoken") && !shown.contains("csecret"),
            "{shown}"
        );
        let token = Credentials::AccessToken(Secret::new("ya29.secret"));
        assert!(!format!("{token:?}").contains("ya29"));

        // A key whose private_key has the wrong type: the error names the
        // position, not the value.
        let bad = r#"{"type":"service_account","client_email":"a@b","token_uri":"x","private_key":12345}"#;
        let err = Credentials::from_json(bad.as_bytes(), "key.json")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("12345") && err.contains("key.json"), "{err}");
        let err = Credentials::from_json(br#"{"type":"external_account"}"#, "f").unwrap_err();
        assert!(err.to_string().contains("external_account"));
    }

    #[test]
    fn application_default_order() {
        let dir = std::env::temp_dir().join(format!("panoptic-gcp-adc-{}", std::process::id()));
        let gcloud = dir.join(".config/gcloud");
        std::fs::create_dir_all(&gcloud).unwrap();
        std::fs::write(gcloud.join("application_default_credentials.json"), USER).unwrap();
        let home = dir.display().to_string();

        // No variable: gcloud's file under $HOME.
        let env = |name: &str| (name == "HOME").then(|| home.clone());
        assert_eq!(
            application_default_credentials(&env).unwrap().kind(),
            "authorized_user"
        );

        // The variable wins, and a missing file is an error that names it.
        let env = |name: &str| match name {
            "HOME" => Some(home.clone()),
            "GOOGLE_APPLICATION_CREDENTIALS" => Some("/nonexistent/key.json".to_owned()),
            _ => None,
        };
        let err = application_default_credentials(&env)
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent/key.json"), "{err}");

        // Nothing at all: the metadata server, at GCE_METADATA_HOST if set.
        let env = |name: &str| (name == "GCE_METADATA_HOST").then(|| "127.0.0.1:9".to_owned());
        match application_default_credentials(&env).unwrap() {
            Credentials::MetadataServer(Some(url)) => {
                assert!(url.starts_with("http://127.0.0.1:9/computeMetadata/v1/"))
            }
            other => panic!("{other:?}"),
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
