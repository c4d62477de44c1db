//! Errors of the Google REST clients, typed from the error body Google
//! sends: `{"error":{"code":…,"message":…,"status":…,"errors":[{"reason":…}]}}`.

use std::time::Duration;

use serde::Deserialize;

use crate::auth::AuthError;
use crate::http::TransportError;

/// A failed BigQuery, Catalog or billing-export call.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Google answered with an error status.
    #[error("{0}")]
    Api(#[from] ApiError),
    /// No token could be had.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The client could not be set up.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The request did not get an answer (connection, timeout).
    #[error("request to {url} failed: {message}")]
    Http {
        /// The endpoint, without query string.
        url: String,
        /// What went wrong.
        message: String,
        /// It was a timeout.
        timeout: bool,
    },
    /// The answer was not the JSON expected.
    #[error("unexpected response from {url}: {message}")]
    Decode {
        /// The endpoint.
        url: String,
        /// What did not fit.
        message: String,
    },
    /// The job did not finish within the query deadline.
    #[error("query job {job_id} not complete after {waited:?}")]
    Timeout {
        /// The job still running.
        job_id: String,
        /// How long it was polled.
        waited: Duration,
    },
    /// The job ran and ended in error (its `status.errorResult`).
    #[error("query job {job_id} failed: {} {}", error.reason, error.message)]
    JobFailed {
        /// The failed job.
        job_id: String,
        /// Its `errorResult`.
        error: ErrorProto,
    },
    /// Rows could not be turned into the requested values.
    #[error("row decoding: {0}")]
    Rows(String),
    /// A bad argument (URL, project id…).
    #[error("invalid argument: {0}")]
    Invalid(String),
}

impl Error {
    /// Whether retrying the same request may succeed: 429, 5xx but 501
    /// (not implemented: it never will), the `rateLimitExceeded` /
    /// `backendError` / `internalError` reasons, and transport failures.
    /// A job that failed (see [`Error::is_job_retryable`]) is not: asking
    /// again only reads the same failure.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api(api) => api.is_retryable(),
            Error::Http { .. } => true,
            _ => false,
        }
    }

    /// Whether the BigQuery job failed in a way that running it again,
    /// as a new job with a new job id / request id, may fix:
    /// `jobBackendError`, `jobInternalError`, `jobRateLimitExceeded`, or
    /// a job whose `status.errorResult` says `backendError`.
    pub fn is_job_retryable(&self) -> bool {
        match self {
            Error::Api(api) => api.is_job_retryable(),
            Error::JobFailed { error, .. } => is_job_retry_reason(&error.reason, true),
            _ => false,
        }
    }

    /// The API error, if Google sent one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(api) => Some(api),
            _ => None,
        }
    }
}

/// An error status from a Google API, with its body's fields.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {reason}: {message}")]
pub struct ApiError {
    /// HTTP status code.
    pub status: u16,
    /// The first `errors[].reason` (`notFound`, `invalidQuery`,
    /// `rateLimitExceeded`, …), else the `status` text, else empty.
    pub reason: String,
    /// The error message.
    pub message: String,
    /// Every `errors[]` entry.
    pub errors: Vec<ErrorProto>,
}

/// One entry of an error body's `errors` list (BigQuery's ErrorProto).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorProto {
    /// Short code (`invalidQuery`).
    #[serde(default)]
    pub reason: String,
    /// Where (`query`), when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Domain, when given (`global`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Human-readable text.
    #[serde(default)]
    pub message: String,
}

impl ApiError {
    /// Builds the error from a status and a body (JSON or not).
    pub fn from_body(status: u16, body: &str) -> ApiError {
        #[derive(Deserialize)]
        struct Envelope {
            error: Body,
        }
        #[derive(Deserialize)]
        struct Body {
            #[serde(default)]
            message: String,
            #[serde(default)]
            status: Option<String>,
            #[serde(default)]
            errors: Vec<ErrorProto>,
        }
        match serde_json::from_str::<Envelope>(body) {
            Ok(Envelope { error }) => ApiError {
                status,
                reason: error
                    .errors
                    .first()
                    .map(|e| e.reason.clone())
                    .filter(|r| !r.is_empty())
                    .or(error.status)
                    .unwrap_or_default(),
                message: error.message,
                errors: error.errors,
            },
            Err(_) => ApiError {
                status,
                reason: String::new(),
                // A proxy's HTML page: keep a short, single-line excerpt.
                message: body
                    .chars()
                    .take(200)
                    .collect::<String>()
                    .replace('\n', " "),
                errors: Vec::new(),
            },
        }
    }

    /// Whether sending the same request again may succeed.
    pub fn is_retryable(&self) -> bool {
        if self.status == 501 || self.is_job_retryable() {
            return false;
        }
        self.status == 429
            || self.status >= 500
            || self.errors.iter().any(|e| {
                matches!(
                    e.reason.as_str(),
                    "rateLimitExceeded" | "backendError" | "internalError"
                )
            })
    }

    /// Whether the error reports a failed job that a new job may fix
    /// (the `job…` reasons of BigQuery's error table).
    pub fn is_job_retryable(&self) -> bool {
        self.errors
            .iter()
            .map(|e| e.reason.as_str())
            .chain(std::iter::once(self.reason.as_str()))
            .any(|r| is_job_retry_reason(r, false))
    }
}

/// The reasons that mean "run the job again". `backendError` counts only
/// inside a job's `errorResult`: in an HTTP reply it means "send the
/// request again".
fn is_job_retry_reason(reason: &str, in_job_status: bool) -> bool {
    matches!(
        reason,
        "jobBackendError" | "jobInternalError" | "jobRateLimitExceeded"
    ) || (in_job_status && reason == "backendError")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn google_error_bodies_are_typed() {
        let body = r#"{"error":{"code":404,"message":"Not found: Table p:d.t was not found in location US",
            "errors":[{"message":"Not found: Table p:d.t","domain":"global","reason":"notFound"}],"status":"NOT_FOUND"}}"#;
        let e = ApiError::from_body(404, body);
        assert_eq!(e.reason, "notFound");
        assert!(e.message.starts_with("Not found: Table p:d.t"));
        assert_eq!(e.errors[0].domain.as_deref(), Some("global"));
        assert!(!e.is_retryable());

        let body = r#"{"error":{"code":403,"message":"Exceeded rate limits","errors":[{"reason":"rateLimitExceeded","message":"x"}]}}"#;
        assert!(ApiError::from_body(403, body).is_retryable());
        assert!(ApiError::from_body(503, "<html>\nunavailable</html>").is_retryable());
        let e = ApiError::from_body(
            400,
            r#"{"error":{"code":400,"message":"bad","status":"INVALID_ARGUMENT"}}"#,
        );
        assert_eq!(e.reason, "INVALID_ARGUMENT");
    }

    #[test]
    fn not_implemented_is_final_and_job_errors_ask_for_a_new_job() {
        let e = ApiError::from_body(
            501,
            r#"{"error":{"code":501,"message":"no","status":"UNIMPLEMENTED"}}"#,
        );
        assert!(!e.is_retryable());
        assert!(ApiError::from_body(502, "").is_retryable());
        for reason in [
            "jobBackendError",
            "jobInternalError",
            "jobRateLimitExceeded",
        ] {
            let body = format!(
                r#"{{"error":{{"code":400,"message":"m","errors":[{{"reason":"{reason}","message":"m"}}]}}}}"#
            );
            let e = Error::Api(ApiError::from_body(400, &body));
            assert!(e.is_job_retryable() && !e.is_retryable(), "{reason}");
        }
        let body = r#"{"error":{"code":503,"message":"m","errors":[{"reason":"backendError"}]}}"#;
        let e = Error::Api(ApiError::from_body(503, body));
        assert!(e.is_retryable() && !e.is_job_retryable());
        let failed = Error::JobFailed {
            job_id: "j".into(),
            error: ErrorProto {
                reason: "backendError".into(),
                ..ErrorProto::default()
            },
        };
        assert!(failed.is_job_retryable());
    }
}
