//! Settings: builder values first, then the process environment, then a
//! `.env` file, then defaults. The `.env` file is read, never written into
//! the process environment, so loading it has no effect on other code.

use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

/// Default MongoDB address when neither the builder nor `MONGODB_URI` names one.
pub const DEFAULT_MONGODB_URI: &str = "mongodb://127.0.0.1:27017/";

/// Environment variables panoptic reads.
pub mod vars {
    /// Environment name (`prod`, `dev`, `staging`, …).
    pub const PANOPTIC_ENV: &str = "PANOPTIC_ENV";
    /// Read when `PANOPTIC_ENV` is unset, as the original SDK did.
    pub const NODE_ENV: &str = "NODE_ENV";
    /// Username when the builder gives none.
    pub const PANOPTIC_USERNAME: &str = "PANOPTIC_USERNAME";
    /// Project id when the builder gives none.
    pub const PANOPTIC_PROJECT: &str = "PANOPTIC_PROJECT";
    /// MongoDB connection string.
    pub const MONGODB_URI: &str = "MONGODB_URI";
    /// MongoDB user, when not in the URI.
    pub const MONGODB_USER: &str = "MONGODB_USER";
    /// MongoDB password, when not in the URI.
    pub const MONGODB_PASSWORD: &str = "MONGODB_PASSWORD";
    /// Spool folder (default `./.panoptic/spool`).
    pub const PANOPTIC_SPOOL_DIR: &str = "PANOPTIC_SPOOL_DIR";
    /// Lowest slog level passed on: `trace`, `debug`, `info`, `warning`, `error`, `critical`.
    pub const PANOPTIC_LOG_LEVEL: &str = "PANOPTIC_LOG_LEVEL";
}

/// Looks a variable up: process environment first, then `.env`.
pub(crate) fn lookup(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .or_else(|| dotenv_values().get(name).cloned())
        .filter(|v| !v.trim().is_empty())
}

/// The `.env` file of the current directory or a parent, read once.
fn dotenv_values() -> &'static HashMap<String, String> {
    static VALUES: OnceLock<HashMap<String, String>> = OnceLock::new();
    VALUES.get_or_init(|| {
        dotenvy::dotenv_iter()
            .map(|iter| iter.filter_map(Result::ok).collect())
            .unwrap_or_default()
    })
}

/// Parses a level name as `PANOPTIC_LOG_LEVEL` takes it.
pub(crate) fn parse_level(name: &str) -> Option<slog::Level> {
    match name.trim().to_ascii_lowercase().as_str() {
        "trace" => Some(slog::Level::Trace),
        "debug" => Some(slog::Level::Debug),
        "info" => Some(slog::Level::Info),
        "warn" | "warning" => Some(slog::Level::Warning),
        "error" => Some(slog::Level::Error),
        "critical" | "fatal" => Some(slog::Level::Critical),
        _ => None,
    }
}

/// MongoDB credentials given apart from the URI. The password never appears
/// in `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// User name.
    pub user: String,
    /// Password.
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &"*****")
            .finish()
    }
}

/// Removes the password from a `mongodb://user:password@host` string.
///
/// ```
/// use panoptic_core::config::redact_uri;
/// assert_eq!(redact_uri("mongodb://bob:s3cret@db:27017/"), "mongodb://bob:*****@db:27017/");
/// assert_eq!(redact_uri("mongodb://db:27017/"), "mongodb://db:27017/");
/// ```
pub fn redact_uri(uri: &str) -> String {
    let Some(scheme_end) = uri.find("://").map(|i| i + 3) else {
        return uri.to_owned();
    };
    let rest = &uri[scheme_end..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return uri.to_owned();
    };
    match rest[..at].find(':') {
        Some(colon) => format!(
            "{}{}:*****{}",
            &uri[..scheme_end],
            &rest[..colon],
            &rest[at..]
        ),
        None => uri.to_owned(),
    }
}

/// The password inside a URI, so that it can be scrubbed from messages.
pub(crate) fn uri_password(uri: &str) -> Option<String> {
    let rest = &uri[uri.find("://")? + 3..];
    let authority = &rest[..rest.find('/').unwrap_or(rest.len())];
    let userinfo = &authority[..authority.rfind('@')?];
    let password = &userinfo[userinfo.find(':')? + 1..];
    Some(password.to_owned()).filter(|p| !p.is_empty())
}
