//! Why a refresh failed, in one line each.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::BookError;
use crate::aws_offer::OfferError;

/// Why a refresh failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum RefreshError {
    /// A URL could not be fetched (refused, timed out, not 2xx).
    Fetch {
        /// The URL.
        url: String,
        /// What went wrong, causes included.
        message: String,
    },
    /// https was asked for, and the system has no CA certificates to
    /// verify it.
    NoRootCertificates {
        /// The host that was to be reached.
        host: String,
    },
    /// A file could not be read or written.
    File {
        /// The file.
        path: PathBuf,
        /// `read` or `write`.
        action: &'static str,
        /// The error.
        error: io::Error,
    },
    /// What was read is not an offer file.
    Offer {
        /// Where it came from (URL or path).
        source: String,
        /// What is wrong with it.
        error: OfferError,
    },
    /// None of the book's figures is in the offer files read.
    NothingCompared,
    /// The changes could not be written into the override file's text.
    Rewrite {
        /// The override file.
        path: PathBuf,
        /// What the price file's parser said.
        error: BookError,
    },
    /// The file written does not read back as the table it must be (the
    /// old file is left in place).
    Unreadable {
        /// What reading it back said.
        message: String,
    },
}

impl fmt::Display for RefreshError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RefreshError::Fetch { url, message } => write!(f, "request to {url} failed: {message}"),
            RefreshError::NoRootCertificates { host } => write!(
                f,
                "no CA certificates found on this system, so https to `{host}` cannot be verified; \
                 install the ca-certificates package or point SSL_CERT_FILE at a PEM bundle"
            ),
            RefreshError::File {
                path,
                action,
                error,
            } => write!(f, "{}: cannot {action}: {error}", path.display()),
            RefreshError::Offer { source, error } => write!(f, "{source}: {error}"),
            RefreshError::NothingCompared => f.write_str(
                "none of the book's AWS figures is in the offer files read (no usage type matched): \
                 nothing compared",
            ),
            RefreshError::Rewrite { path, error } => {
                write!(f, "{}: {}", path.display(), error.message())
            }
            RefreshError::Unreadable { message } => {
                write!(f, "the file written does not read back: {message}")
            }
        }
    }
}

impl std::error::Error for RefreshError {}
