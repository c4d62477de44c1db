//! What every request passes through: read-only methods, the token (or,
//! without one, a loopback `Host`), and the headers that keep the browser
//! strict.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

/// No inline script or style, nothing from elsewhere: the page's own
/// files and its own API only.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                   connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The access rule of one server.
pub struct Guard {
    token: Option<Vec<u8>>,
    local: SocketAddr,
}

impl Guard {
    pub fn new(token: Option<String>, local: SocketAddr) -> Guard {
        Guard {
            token: token.map(String::into_bytes),
            local,
        }
    }

    fn allows(&self, request: &Request) -> Result<(), (StatusCode, &'static str)> {
        if !matches!(*request.method(), Method::GET | Method::HEAD) {
            return Err((
                StatusCode::METHOD_NOT_ALLOWED,
                "panoptic serve is read-only: only GET is answered",
            ));
        }
        match &self.token {
            Some(expected) => {
                let given = bearer(request.headers()).or_else(|| query_token(request));
                // Constant time: how much of a guess matched never shows
                // in the time it takes to refuse it.
                let ok = given.is_some_and(|given| bool::from(given.as_bytes().ct_eq(expected)));
                if ok {
                    Ok(())
                } else {
                    Err((
                        StatusCode::UNAUTHORIZED,
                        "missing or wrong token: open the page as /?token=… or send \
                         `Authorization: Bearer …`",
                    ))
                }
            }
            // Without a token only loopback is served; a page elsewhere
            // that points a name at 127.0.0.1 (DNS rebinding) still sends
            // its own Host, and is refused.
            None if loopback_host(request.headers(), self.local) => Ok(()),
            None => Err((
                StatusCode::FORBIDDEN,
                "this address is served to localhost only: open http://127.0.0.1:PORT/",
            )),
        }
    }
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

fn query_token(request: &Request) -> Option<String> {
    let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(request.uri()).ok()?;
    pairs
        .into_iter()
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v)
}

fn loopback_host(headers: &HeaderMap, local: SocketAddr) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        // HTTP/1.0 without Host: no browser sends that.
        return true;
    };
    let name = match host.rsplit_once(':') {
        Some((name, port)) if !name.is_empty() && port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback() || ip == local.ip())
}

/// The middleware: refuse, or answer with the strict headers added.
pub async fn check(State(guard): State<Arc<Guard>>, request: Request, next: Next) -> Response {
    let mut response = match guard.allows(&request) {
        Ok(()) => next.run(request).await,
        Err((status, message)) => {
            let mut response = (status, message).into_response();
            if status == StatusCode::UNAUTHORIZED {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"panoptic\""),
                );
            }
            response
        }
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // The token may be in the URL: never pass it on.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
