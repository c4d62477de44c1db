//! Database and collection names: `panoptic-{env}` and `{provider}_{username}`.
//!
//! Names are lowercase. Every run of other characters becomes one `_`, with
//! no `_` at either end. The result is always a valid MongoDB name: only
//! ASCII letters, digits and `_` survive, it is never empty, and it stays
//! well under MongoDB's length limits. When a name has to be cut or made
//! up, a hash of the input keeps distinct inputs apart.

/// Prefix of every database panoptic writes to.
pub const DATABASE_PREFIX: &str = "panoptic-";

/// Longest environment part of a database name, in bytes. MongoDB allows 63
/// bytes for a database name; `panoptic-` takes 9.
const MAX_ENV_LEN: usize = 54;

/// Longest collection name we make. MongoDB's limit is on the whole
/// namespace (`db.collection`, 255 bytes); 120 leaves room for any database.
const MAX_COLLECTION_LEN: usize = 120;

/// The canonical environment name: `prod`, `dev` and `staging` stay,
/// `production` and `development` (any case) map to them, anything else is
/// sanitized like a collection name (and becomes `unnamed` when nothing is
/// left).
///
/// ```
/// use panoptic_catalog::naming::canonical_env;
/// assert_eq!(canonical_env("production"), "prod");
/// assert_eq!(canonical_env("Development"), "dev");
/// assert_eq!(canonical_env("QA 2"), "qa_2");
/// assert_eq!(canonical_env("$$$"), "unnamed");
/// ```
pub fn canonical_env(env: &str) -> String {
    let trimmed = env.trim();
    for (canonical, aliases) in [
        ("prod", &["prod", "production"][..]),
        ("dev", &["dev", "development"][..]),
        ("staging", &["staging", "stage"][..]),
    ] {
        if aliases.iter().any(|a| a.eq_ignore_ascii_case(trimmed)) {
            return canonical.to_owned();
        }
    }
    let sanitized = sanitize(trimmed);
    if sanitized.is_empty() {
        return "unnamed".to_owned();
    }
    bounded(sanitized, MAX_ENV_LEN, trimmed)
}

/// The database for an environment: `panoptic-{canonical env}`.
///
/// ```
/// use panoptic_catalog::naming::database_name;
/// assert_eq!(database_name("production"), "panoptic-prod");
/// assert_eq!(database_name("staging"), "panoptic-staging");
/// ```
pub fn database_name(env: &str) -> String {
    format!("{DATABASE_PREFIX}{}", canonical_env(env))
}

/// The collection for a provider and user: `{provider}_{username}`,
/// sanitized.
///
/// ```
/// use panoptic_catalog::naming::collection_name;
/// assert_eq!(collection_name("Google Cloud (GCP)", "John Doe"), "google_cloud_gcp_john_doe");
/// assert_eq!(collection_name("gcp", "john_doe"), "gcp_john_doe");
/// // A username with nothing usable gets a stable hash instead of vanishing.
/// assert!(collection_name("gcp", "日本").starts_with("gcp_u"));
/// ```
pub fn collection_name(provider: &str, username: &str) -> String {
    let mut provider_part = sanitize(provider);
    if provider_part.is_empty() {
        provider_part = format!("p{:08x}", fnv1a(provider.as_bytes()));
    }
    let mut user_part = sanitize(username);
    if user_part.is_empty() {
        user_part = format!("u{:08x}", fnv1a(username.as_bytes()));
    }
    let joined = format!("{provider_part}_{user_part}");
    let original = format!("{provider}\u{0}{username}");
    bounded(joined, MAX_COLLECTION_LEN, &original)
}

/// Lowercases ASCII letters and digits and turns every run of anything else
/// into one `_`, with no `_` at either end.
///
/// ```
/// use panoptic_catalog::naming::sanitize;
/// assert_eq!(sanitize("  Hello,  World!! "), "hello_world");
/// assert_eq!(sanitize("a.b$c\u{0}d"), "a_b_c_d");
/// ```
pub fn sanitize(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut pending_separator = false;
    for ch in input.chars() {
        if ch.is_ascii_alphanumeric() {
            if pending_separator && !out.is_empty() {
                out.push('_');
            }
            pending_separator = false;
            out.push(ch.to_ascii_lowercase());
        } else {
            pending_separator = true;
        }
    }
    out
}

/// Cuts `name` to `max` bytes, ending in `_{hash of original}` so that two
/// long inputs sharing a prefix still get different names.
fn bounded(name: String, max: usize, original: &str) -> String {
    if name.len() <= max {
        return name;
    }
    let suffix = format!("_{:08x}", fnv1a(original.as_bytes()));
    // `name` is ASCII, so any byte index is a char boundary.
    let keep = name[..max - suffix.len()].trim_end_matches('_');
    format!("{keep}{suffix}")
}

/// FNV-1a, 32 bits: stable across runs and platforms, which a name must be.
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5, |hash, &b| {
        (hash ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// Whether `name` is acceptable to MongoDB as a collection name in a
/// database named by [`database_name`]. Used by tests and by callers that
/// bring their own names.
pub fn is_valid_collection_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_COLLECTION_LEN
        && !name.starts_with("system.")
        && !name.contains(['$', '\0'])
}

/// Whether `name` is acceptable to MongoDB as a database name.
pub fn is_valid_database_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() < 64
        && !name.contains([
            '/', '\\', '.', ' ', '"', '$', '*', '<', '>', ':', '|', '?', '\0',
        ])
}

/// `text` in the form a cloud label value can hold (Google's rules:
/// lowercase letters, digits, `_` and `-`, at most 63 characters; every
/// other character becomes `_`). panoptic labels its BigQuery jobs with
/// this form (`panoptic_gcp::bigquery::label_value` is this function), and
/// a reconciliation compares resources and users in it, so that a bill
/// line labelled `listusers` meets the estimate of `ListUsers`.
///
/// ```
/// use panoptic_catalog::naming::label_form;
/// assert_eq!(label_form("ListUsers"), "listusers");
/// assert_eq!(label_form("John Doe"), "john_doe");
/// assert_eq!(label_form(&"x".repeat(80)).len(), 63);
/// ```
pub fn label_form(text: &str) -> String {
    text.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '_' | '-' => c,
            _ => '_',
        })
        .take(63)
        .collect()
}

#[cfg(test)]
mod tests;
