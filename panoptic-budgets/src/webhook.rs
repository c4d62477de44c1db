//! Budget alerts as a JSON POST to a webhook, retried with backoff: hyper
//! over rustls (ring, the system's CA certificates), the stack
//! panoptic-gcp already builds. Feature `webhooks`.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::Alert;
use crate::coverage::money;

/// Attempts per alert: the first, then retries after 0.5 s, 1 s, 2 s.
const ATTEMPTS: u32 = 4;
/// Longest one attempt may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// The JSON an alert is posted as.
pub(crate) fn alert_json(alert: &Alert) -> String {
    let escape = |text: &str| {
        let mut out = String::with_capacity(text.len() + 2);
        for c in text.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out
    };
    let text = |value: &str| format!("\"{}\"", escape(value));
    let threshold = match alert.percent {
        Some(p) if alert.cannot_count.is_none() => p.to_string(),
        _ => text(&alert.threshold()),
    };
    let notes: Vec<String> = alert.notes().iter().map(|n| text(n)).collect();
    let uncounted: Vec<String> = alert
        .coverage
        .uncounted
        .iter()
        .map(|(currency, amount)| format!("{}:{}", text(currency), text(&money(amount))))
        .collect();
    format!(
        "{{\"budget\":{},\"period\":{},\"threshold\":{threshold},\"spent\":\"{}\",\"limit\":\"{}\",\"currency\":{},\"uncounted\":{{{}}},\"unpriced_calls\":{},\"notes\":[{}],\"message\":{}}}",
        text(&alert.budget),
        text(&alert.period),
        alert.spent,
        alert.limit,
        text(&alert.currency),
        uncounted.join(","),
        alert.coverage.unpriced_calls,
        notes.join(","),
        text(&alert.to_string()),
    )
}

/// Posts `alert` to `url`, retrying 5xx answers and failed connections;
/// returns why it gave up, if it did.
pub(crate) async fn post(url: &str, alert: &Alert) -> Result<(), String> {
    let client = client()?;
    let body = Bytes::from(alert_json(alert));
    let mut wait = Duration::from_millis(500);
    let mut last = String::new();
    for attempt in 1..=ATTEMPTS {
        let request = Request::post(url)
            .header("content-type", "application/json")
            .header("user-agent", "panoptic-budgets")
            .body(Full::new(body.clone()))
            .map_err(|e| format!("invalid webhook URL `{url}`: {e}"))?;
        match tokio::time::timeout(ATTEMPT_TIMEOUT, client.request(request)).await {
            Ok(Ok(response)) if response.status().is_success() => {
                let _ = response.into_body().collect().await;
                return Ok(());
            }
            // A 4xx will not pass by retrying.
            Ok(Ok(response)) if response.status().is_client_error() => {
                return Err(format!("webhook {url} answered {}", response.status()));
            }
            Ok(Ok(response)) => last = format!("answered {}", response.status()),
            Ok(Err(e)) => last = e.to_string(),
            Err(_) => last = format!("no answer within {ATTEMPT_TIMEOUT:?}"),
        }
        if attempt < ATTEMPTS {
            tokio::time::sleep(wait).await;
            wait *= 2;
        }
    }
    Err(format!(
        "webhook {url} failed after {ATTEMPTS} attempts: {last}"
    ))
}

type HttpsClient = Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    Full<Bytes>,
>;

fn client() -> Result<HttpsClient, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .build();
    Ok(Client::builder(TokioExecutor::new()).build(connector))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coverage::Coverage;

    #[test]
    fn an_alert_posts_what_its_budget_leaves_out() {
        let mut coverage = Coverage::default();
        coverage
            .uncounted
            .add("EUR", rust_decimal::Decimal::new(125, 1));
        coverage.unpriced_calls = 2;
        let alert = Alert {
            budget: "usd".to_owned(),
            period: "2026-12-05".to_owned(),
            percent: None,
            spent: rust_decimal::Decimal::ZERO,
            limit: rust_decimal::Decimal::TEN,
            currency: "USD".to_owned(),
            cannot_count: Some("EUR".to_owned()),
            coverage,
        };
        let json = alert_json(&alert);
        assert!(
            json.contains(
                r#""threshold":"uncounted-EUR","spent":"0","limit":"10","currency":"USD","uncounted":{"EUR":"12.50"},"unpriced_calls":2,"notes":["12.50 EUR not counted: no EUR→USD rate (give one in PANOPTIC_RATES)","2 unpriced calls not counted (no amount, no estimate)"]"#
            ),
            "{json}"
        );
    }
}
