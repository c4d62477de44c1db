//! Shared by the panoptic-gcp integration tests: a service-account key
//! pointing at a local fake, and a slog drain that keeps what is logged.
#![allow(dead_code)]

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use panoptic_gcp::auth::{AuthOptions, Credentials, Secret, TokenSource};
use slog::{Drain, Key, Never, OwnedKVList, Record, Serializer, o};

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

/// A logger whose records land in the returned list.
pub fn capture() -> (slog::Logger, Arc<Mutex<Vec<Logged>>>) {
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
