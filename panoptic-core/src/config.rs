//! Settings: builder values first, then the process environment, then a
//! `.env` file, then defaults. The `.env` file is read, never written into
//! the process environment, so loading it has no effect on other code.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::OnceLock;

use mongodb::options::ConnectionString;

use crate::error::Error;
use crate::naming::canonical_env;
use panoptic_spool::DEFAULT_SPOOL_DIR;

/// Default MongoDB address when neither the builder nor `MONGODB_URI` names one.
pub const DEFAULT_MONGODB_URI: &str = "mongodb://127.0.0.1:27017/";

/// Environment variables panoptic reads.
pub mod vars {
    /// Environment name (`prod`, `dev`, `staging`, …).
    pub const PANOPTIC_ENV: &str = "PANOPTIC_ENV";
    /// Read when `PANOPTIC_ENV` is unset, as Node.js tools do.
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
    /// A TOML file of `[[budget]]` tables; turns budgets on.
    pub const PANOPTIC_BUDGETS: &str = "PANOPTIC_BUDGETS";
    /// `true` (or `1`, `yes`, `on`): every `#[billable]` call writes a
    /// start record (the builder's `.start_records(…)` wins).
    pub const PANOPTIC_START_RECORDS: &str = "PANOPTIC_START_RECORDS";
}

/// Reads an on/off variable: `true`, `1`, `yes`, `on` (any case) are on.
pub(crate) fn parse_flag(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "true" | "1" | "yes" | "on"
    )
}

/// Looks a variable up: process environment first, then `.env`.
pub fn lookup(name: &str) -> Option<String> {
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
/// The password is found by the driver's own rules: the user information
/// ends at the last `@` before the options (`?`), and the password starts
/// after the first `:` in it. So a password holding `/`, `@` or `:` is
/// masked whole, even one the driver would refuse as not percent-encoded.
///
/// ```
/// use panoptic_core::config::redact_uri;
/// assert_eq!(redact_uri("mongodb://bob:s3cret@db:27017/"), "mongodb://bob:*****@db:27017/");
/// assert_eq!(redact_uri("mongodb://bob:a/b@c@db/x?w=1"), "mongodb://bob:*****@db/x?w=1");
/// assert_eq!(redact_uri("mongodb://db:27017/"), "mongodb://db:27017/");
/// ```
pub fn redact_uri(uri: &str) -> String {
    match password_span(uri) {
        Some((start, end)) => format!("{}*****{}", &uri[..start], &uri[end..]),
        None => uri.to_owned(),
    }
}

/// Removes the password of `uri` from `message`, as written and
/// percent-decoded: for errors that quote the URI or the password.
///
/// ```
/// use panoptic_core::config::redact_secrets;
/// let uri = "mongodb://bob:p%2Fw/x@db/";
/// assert_eq!(redact_secrets(uri, "bad password p/w/x in p%2Fw/x"), "bad password ***** in *****");
/// ```
pub fn redact_secrets(uri: &str, message: &str) -> String {
    scrub(message, &uri_passwords(uri))
}

/// `message` with every non-empty secret replaced by `*****`.
pub(crate) fn scrub(message: &str, secrets: &[String]) -> String {
    secrets
        .iter()
        .filter(|secret| !secret.is_empty())
        .fold(message.to_owned(), |m, secret| {
            m.replace(secret.as_str(), "*****")
        })
}

/// Byte range of the password in `uri`, if it has one.
fn password_span(uri: &str) -> Option<(usize, usize)> {
    let start = uri.find("://")? + 3;
    let rest = &uri[start..];
    let before_options = &rest[..rest.find('?').unwrap_or(rest.len())];
    let at = before_options.rfind('@')?;
    let colon = before_options[..at].find(':')?;
    (colon + 1 < at).then_some((start + colon + 1, start + at))
}

/// The password inside a URI, as written and percent-decoded, so that both
/// can be scrubbed from messages.
pub(crate) fn uri_passwords(uri: &str) -> Vec<String> {
    let Some((start, end)) = password_span(uri) else {
        return Vec::new();
    };
    let raw = uri[start..end].to_owned();
    let decoded = percent_decode(&raw);
    let mut passwords = vec![raw];
    if let Some(decoded) = decoded.filter(|d| !d.is_empty() && *d != passwords[0]) {
        // Longest first, so a decoded password inside the raw one is
        // not replaced halfway.
        passwords.push(decoded);
        passwords.sort_by_key(|p| std::cmp::Reverse(p.len()));
    }
    passwords
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Values given to the builder; `None` means "look in the environment".
#[derive(Default)]
pub(crate) struct Given {
    pub username: Option<String>,
    pub project: Option<String>,
    pub env: Option<String>,
    pub mongodb_uri: Option<String>,
    pub credentials: Option<Credentials>,
    pub level: Option<slog::Level>,
    pub spool_dir: Option<PathBuf>,
}

/// Every setting that has a source, after the precedence is applied.
pub(crate) struct Resolved {
    pub username: String,
    pub project_id: Option<String>,
    /// Canonical (`prod`, `dev`, `staging`, or sanitized).
    pub env: String,
    pub uri: ConnectionString,
    pub uri_redacted: String,
    pub credentials: Option<Credentials>,
    /// Passwords to scrub from every message.
    pub secrets: Vec<String>,
    pub level: slog::Level,
    pub spool_dir: PathBuf,
}

impl Given {
    /// Builder values first, then the environment, then `.env`, then
    /// defaults.
    pub fn resolve(self) -> Result<Resolved, Error> {
        let username = self
            .username
            .or_else(|| lookup(vars::PANOPTIC_USERNAME))
            .filter(|u| !u.trim().is_empty())
            .ok_or(Error::MissingUsername)?;
        let project_id = self
            .project
            .or_else(|| lookup(vars::PANOPTIC_PROJECT))
            .filter(|p| !p.trim().is_empty());
        let env = canonical_env(
            &self
                .env
                .or_else(|| lookup(vars::PANOPTIC_ENV))
                .or_else(|| lookup(vars::NODE_ENV))
                .unwrap_or_else(|| "dev".to_owned()),
        );
        let uri = self
            .mongodb_uri
            .or_else(|| lookup(vars::MONGODB_URI))
            .unwrap_or_else(|| DEFAULT_MONGODB_URI.to_owned());
        let credentials = self.credentials.or_else(|| {
            let user = lookup(vars::MONGODB_USER)?;
            let password = lookup(vars::MONGODB_PASSWORD).unwrap_or_default();
            Some(Credentials { user, password })
        });
        let level = match self.level {
            Some(level) => level,
            None => match lookup(vars::PANOPTIC_LOG_LEVEL) {
                Some(name) => parse_level(&name).ok_or(Error::InvalidLogLevel(name))?,
                None => slog::Level::Info,
            },
        };
        let uri_redacted = redact_uri(&uri);
        let mut secrets = uri_passwords(&uri);
        secrets.extend(credentials.as_ref().map(|c| c.password.clone()));
        let connection = ConnectionString::parse(&uri).map_err(|error| Error::InvalidMongoUri {
            uri: uri_redacted.clone(),
            reason: scrub(&error.to_string(), &secrets),
        })?;
        let spool_dir = self
            .spool_dir
            .or_else(|| lookup(vars::PANOPTIC_SPOOL_DIR).map(Into::into))
            .unwrap_or_else(|| DEFAULT_SPOOL_DIR.into());
        Ok(Resolved {
            username,
            project_id,
            env,
            uri: connection,
            uri_redacted,
            credentials,
            secrets,
            level,
            spool_dir,
        })
    }
}
