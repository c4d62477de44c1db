//! A public price list published outside Google (AWS's offer files),
//! fetched with this crate's TLS setup.

use reqwest::Url;

use crate::http::Timeouts;
use crate::rest::Error;

/// `GET url` of a public document (no token, no retry), as text, with
/// this crate's TLS setup: for price lists published outside Google, such
/// as AWS's offer files, that `panoptic prices update` compares the same way.
/// A status other than 2xx is an [`Error::Http`] naming it.
pub async fn fetch_public_text(url: &str, timeouts: Timeouts) -> Result<String, Error> {
    let parsed: Url = url
        .parse()
        .map_err(|e| Error::Invalid(format!("URL `{url}`: {e}")))?;
    let http = crate::http::reqwest_client(&parsed, timeouts)?;
    let failed = |message: String, timeout: bool| Error::Http {
        url: url.to_owned(),
        message,
        timeout,
    };
    let resp = http
        .get(parsed.clone())
        .send()
        .await
        .map_err(|e| failed(chain(&e), e.is_timeout()))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(failed(format!("HTTP {status}"), false));
    }
    resp.text()
        .await
        .map_err(|e| failed(chain(&e), e.is_timeout()))
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
