//! Token flows against a local fake of Google's OAuth endpoints.

mod support;

use std::net::SocketAddr;

use panoptic_gcp::auth::{AuthError, AuthOptions, Credentials, TokenSource};
use serde_json::json;
use wiremock::matchers::{body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn token_reply(token: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "access_token": token, "expires_in": 3600, "token_type": "Bearer"
    }))
}

fn form(body: &[u8]) -> Vec<(String, String)> {
    let text = std::str::from_utf8(body).unwrap();
    reqwest::Url::parse(&format!("http://form/?{text}"))
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

#[tokio::test]
async fn service_account_key_uses_the_jwt_bearer_grant_and_caches_the_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(body_string_contains(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer",
        ))
        .respond_with(token_reply("sa-token-1"))
        .expect(1)
        .mount(&server)
        .await;

    let key = support::service_account_json(&format!("{}/token", server.uri()));
    let credentials = Credentials::from_json(key.as_bytes(), "test key").unwrap();
    assert_eq!(credentials.kind(), "service_account");
    assert!(!format!("{credentials:?}").contains("PRIVATE KEY"));
    let tokens = TokenSource::new(credentials, AuthOptions::default())
        .await
        .unwrap();

    assert_eq!(tokens.token().await.unwrap().expose(), "sa-token-1");
    // Cached: the fake expects exactly one request.
    assert_eq!(tokens.token().await.unwrap().expose(), "sa-token-1");
    assert!(!format!("{tokens:?}").contains("sa-token"));

    let requests = server.received_requests().await.unwrap();
    let fields = form(&requests[0].body);
    let assertion = &fields.iter().find(|(k, _)| k == "assertion").unwrap().1;
    // A signed JWT: header.claims.signature, claims naming our client and scope.
    let parts: Vec<&str> = assertion.split('.').collect();
    assert_eq!(parts.len(), 3, "{assertion}");
    let claims = base64_url_decode(parts[1]);
    let claims: serde_json::Value = serde_json::from_slice(&claims).unwrap();
    assert_eq!(
        claims["iss"],
        "panoptic-test@test-project.iam.gserviceaccount.com"
    );
    assert_eq!(claims["scope"], panoptic_gcp::auth::CLOUD_PLATFORM_SCOPE);
    assert_eq!(claims["aud"], format!("{}/token", server.uri()));
    assert!(!parts[2].is_empty());
}

fn base64_url_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = ALPHABET.iter().position(|a| *a == c).unwrap() as u32;
        bits = (bits << 6) | v;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    out
}

#[tokio::test]
async fn a_refused_grant_is_an_error_without_the_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_grant", "error_description": "Invalid JWT Signature."
        })))
        .mount(&server)
        .await;
    let tokens = support::service_account_tokens(&format!("{}/token", server.uri())).await;
    let err = tokens.token().await.unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(
        matches!(
            err,
            AuthError::Token {
                source_kind: "service_account",
                ..
            }
        ),
        "{text}"
    );
    assert!(
        text.contains("invalid_grant") || text.contains("Invalid JWT"),
        "{text}"
    );
    assert!(
        !text.contains("PRIVATE KEY") && !text.contains("MII"),
        "{text}"
    );
}

#[tokio::test]
async fn authorized_user_file_uses_the_refresh_token_grant() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/o/oauth2/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("refresh_token=1%2F%2Frefresh-abc"))
        .respond_with(token_reply("user-token"))
        .expect(1)
        .mount(&server)
        .await;
    let file = std::env::temp_dir().join(format!("panoptic-adc-{}.json", std::process::id()));
    std::fs::write(
        &file,
        r#"{"client_id":"cid.apps.googleusercontent.com","client_secret":"csecret","refresh_token":"1//refresh-abc","type":"authorized_user"}"#,
    )
    .unwrap();
    let credentials = Credentials::from_file(&file).unwrap();
    let _ = std::fs::remove_file(&file);
    let addr: SocketAddr = server.address().to_owned();
    // yup-oauth2 hard-codes Google's endpoint for this flow: route it to the fake.
    let options = AuthOptions::default().route("accounts.google.com", addr);
    let tokens = TokenSource::new(credentials, options).await.unwrap();
    assert_eq!(tokens.kind(), "authorized_user");
    assert_eq!(tokens.token().await.unwrap().expose(), "user-token");
    assert_eq!(tokens.token().await.unwrap().expose(), "user-token");
}

#[tokio::test]
async fn metadata_server_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(
            "/computeMetadata/v1/instance/service-accounts/default/token",
        ))
        .and(header("Metadata-Flavor", "Google"))
        .and(query_param(
            "scopes",
            panoptic_gcp::auth::CLOUD_PLATFORM_SCOPE,
        ))
        .respond_with(token_reply("gce-token"))
        .expect(1)
        .mount(&server)
        .await;
    let url = format!(
        "{}/computeMetadata/v1/instance/service-accounts/default/token",
        server.uri()
    );
    let result = TokenSource::new(
        Credentials::MetadataServer(Some(url)),
        AuthOptions::default(),
    )
    .await;
    if std::env::var_os("GOOGLE_APPLICATION_CREDENTIALS").is_some() {
        // yup-oauth2 prefers the key file then; we refuse rather than mix them up.
        assert!(
            result
                .unwrap_err()
                .to_string()
                .contains("GOOGLE_APPLICATION_CREDENTIALS")
        );
        server.reset().await;
        return;
    }
    let tokens = result.unwrap();
    assert_eq!(tokens.kind(), "metadata_server");
    assert_eq!(tokens.token().await.unwrap().expose(), "gce-token");
    assert_eq!(tokens.token().await.unwrap().expose(), "gce-token");
}

#[tokio::test]
async fn an_unreachable_token_endpoint_is_an_error_not_a_panic() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let tokens = support::service_account_tokens(&format!("http://127.0.0.1:{port}/token")).await;
    assert!(matches!(tokens.token().await, Err(AuthError::Token { .. })));
}
