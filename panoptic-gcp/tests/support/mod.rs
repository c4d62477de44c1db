//! Shared by the panoptic-gcp integration tests: local fakes of Google's
//! APIs, a BigQuery client pointed at one, a service-account key whose
//! token endpoint is a fake, and a slog drain that keeps what is logged.
#![allow(dead_code)]

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use panoptic_gcp::auth::{AuthOptions, Credentials, Secret, TokenSource};
use panoptic_gcp::bigquery::{BigQuery, RetryPolicy};
use serde_json::Value as Json;
use slog::{Drain, Key, Never, OwnedKVList, Record, Serializer, o};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate};

/// `jobs.query` of the project `test-project` on a fake.
pub const QUERIES: &str = "/bigquery/v2/projects/test-project/queries";

/// A fake Google API that answers with `mocks`, in this order of
/// precedence. Each mock's `expect` is checked when the fake is dropped.
pub async fn serve(mocks: impl IntoIterator<Item = Mock>) -> MockServer {
    let server = MockServer::start().await;
    for mock in mocks {
        mock.mount(&server).await;
    }
    server
}

/// The requests of `verb` (`GET`, `POST`) to `route`.
pub fn on(verb: &str, route: &str) -> MockBuilder {
    Mock::given(method(verb)).and(path(route))
}

/// A reply of `status` with the JSON `body`.
pub fn reply(status: u16, body: Json) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(body)
}

/// A 200 reply with the JSON `body`.
pub fn ok(body: Json) -> ResponseTemplate {
    reply(200, body)
}

/// A nullable column of a reply's schema: `kind` is BigQuery's type name.
pub fn column(name: &str, kind: &str) -> Json {
    serde_json::json!({"name": name, "type": kind, "mode": "NULLABLE"})
}

/// The JSON object `base` with `fields` added, or replacing its own.
pub fn with_fields(mut base: Json, fields: Json) -> Json {
    let fields = fields.as_object().expect("fields are a JSON object");
    base.as_object_mut()
        .expect("a JSON object")
        .extend(fields.clone());
    base
}

/// Retries quick enough for tests: 3, a few milliseconds apart.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_retries: 3,
        initial: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
    }
}

/// A fake BigQuery that answers with `mocks`, a client of it, and the
/// records the client logs. The client works in `test-project` with the
/// token `test-token` and quick retries.
pub async fn fake_bigquery(
    mocks: impl IntoIterator<Item = Mock>,
) -> (MockServer, BigQuery, Records) {
    let server = serve(mocks).await;
    let (logger, logged) = capture();
    let bq = BigQuery::builder("test-project")
        .base_url(format!("{}/bigquery/v2/", server.uri()))
        .tokens(static_tokens("test-token").await)
        .retry(fast_retry())
        .logger(logger)
        .build()
        .unwrap();
    (server, bq, logged)
}

/// An RSA key made with `openssl genpkey` for these tests only.
pub const TEST_KEY_PEM: &str = include_str!("../fixtures/test-key.pem");

/// A service-account key file's JSON whose `token_uri` is `token_uri`.
pub fn service_account_json(token_uri: &str) -> String {
    serde_json::json!({
        "type": "service_account",
        "project_id": "test-project",
        "private_key_id": "0123456789abcdef",
        "private_key": TEST_KEY_PEM,
        "client_email": "panoptic-test@test-project.iam.gserviceaccount.com",
        "client_id": "100000000000000000001",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
    })
    .to_string()
}

/// A token source signing in with the test service account at `token_uri`.
pub async fn service_account_tokens(token_uri: &str) -> TokenSource {
    let key = service_account_json(token_uri);
    TokenSource::new(
        Credentials::from_json(key.as_bytes(), "test key").expect("test key parses"),
        AuthOptions::default(),
    )
    .await
    .expect("service-account token source")
}

/// A fixed-token source.
pub async fn static_tokens(token: &str) -> TokenSource {
    TokenSource::new(
        Credentials::AccessToken(Secret::new(token)),
        AuthOptions::default(),
    )
    .await
    .expect("static token source")
}

/// One logged record: its message, tag and every key-value as text.
#[derive(Debug, Clone)]
pub struct Logged {
    pub msg: String,
    pub tag: String,
    pub kv: HashMap<String, String>,
}

impl Logged {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.kv.get(key).map(String::as_str)
    }
}

/// What a [`capture`] logger has logged.
pub type Records = Arc<Mutex<Vec<Logged>>>;

/// A logger whose records land in the returned list.
pub fn capture() -> (slog::Logger, Records) {
    let records = Arc::new(Mutex::new(Vec::new()));
    let drain = Capture(Arc::clone(&records));
    let logger = slog::Logger::root(
        drain.fuse(),
        o!("provider" => "gcp", "service" => "BigQuery"),
    );
    (logger, records)
}

struct Capture(Arc<Mutex<Vec<Logged>>>);

impl Drain for Capture {
    type Ok = ();
    type Err = Never;

    fn log(&self, record: &Record, values: &OwnedKVList) -> Result<(), Never> {
        let mut kv = Collect(HashMap::new());
        let _ = slog::KV::serialize(&record.kv(), record, &mut kv);
        let _ = slog::KV::serialize(values, record, &mut kv);
        self.0.lock().unwrap().push(Logged {
            msg: record.msg().to_string(),
            tag: record.tag().to_owned(),
            kv: kv.0,
        });
        Ok(())
    }
}

struct Collect(HashMap<String, String>);

impl Serializer for Collect {
    fn emit_arguments(&mut self, key: Key, val: &fmt::Arguments) -> slog::Result {
        self.0
            .entry(key.to_string())
            .or_insert_with(|| val.to_string());
        Ok(())
    }
}
