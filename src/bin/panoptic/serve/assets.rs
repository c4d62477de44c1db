//! The page's files, embedded in the binary so the dashboard works offline.

use axum::extract::Query;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

const INDEX: &str = include_str!("assets/index.html");
const SCRIPT: &str = include_str!("assets/app.js");
const STYLE: &str = include_str!("assets/style.css");
const ICON: &str = include_str!("assets/icon.svg");

/// Where the shell's own file URLs carry the token, if the page was opened
/// with one (the browser sends no `Authorization` header for them).
const TOKEN_SLOT: &str = "{{token}}";

fn typed(body: String, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// Every page is the same shell; the script draws the page the path names.
pub async fn page(Query(pairs): Query<Vec<(String, String)>>) -> Response {
    let suffix = pairs
        .iter()
        .find(|(k, _)| k == "token")
        .map(|(_, token)| format!("?token={}", percent_encode(token)))
        .unwrap_or_default();
    typed(
        INDEX.replace(TOKEN_SLOT, &suffix),
        "text/html; charset=utf-8",
    )
}

pub async fn script() -> Response {
    typed(SCRIPT.to_owned(), "text/javascript; charset=utf-8")
}

pub async fn style() -> Response {
    typed(STYLE.to_owned(), "text/css; charset=utf-8")
}

pub async fn icon() -> Response {
    typed(ICON.to_owned(), "image/svg+xml")
}

/// Everything but unreserved characters percent-encoded: safe in a URL and
/// in an HTML attribute alike.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn token_cannot_break_out_of_the_attribute() {
        assert_eq!(super::percent_encode("a\"><b é"), "a%22%3E%3Cb%20%C3%A9");
    }
}
