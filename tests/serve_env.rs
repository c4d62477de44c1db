//! `panoptic serve --env ENV` shows that environment alone, whatever the
//! page asks: read here from the spool (no MongoDB needed).

mod common;
#[path = "serve/http.rs"]
#[allow(dead_code)]
mod http;
#[path = "serve/server.rs"]
#[allow(dead_code)]
mod server;

use std::time::Duration;

use panoptic::{Panoptic, Provider};

/// `count` spooled events in `env`.
fn spool(spool: &std::path::Path, env: &str, count: usize) {
    let dead = format!("mongodb://127.0.0.1:{}/", common::free_port());
    let handle = Panoptic::builder()
        .username("env user")
        .env(env)
        .mongodb_uri(dead)
        .spool_dir(spool)
        .server_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let bq = handle.logger(Provider::Gcp, "BigQuery");
    for _ in 0..count {
        panoptic::invoice!(bq, "daily_report"; "amount" => "0.5");
    }
    assert!(handle.flush());
}

#[test]
fn serve_env_shows_one_environment_only() {
    let dir = common::temp_dir("serve-env");
    let (prod, dev) = (common::unique_env("prod"), common::unique_env("dev"));
    spool(&dir, &prod, 3);
    spool(&dir, &dev, 2);
    let uri = format!("mongodb://127.0.0.1:{}/", common::free_port());

    let every = server::Serve::start(&["--bind", "127.0.0.1:0", "--spool"], &uri, &dir);
    let envs = http::get(&every.addr, "/api/options", &[]).json()["env"].clone();
    assert_eq!(envs, serde_json::json!([dev, prod]));
    drop(every);

    let one = server::Serve::start(
        &["--bind", "127.0.0.1:0", "--spool", "--env", &prod],
        &uri,
        &dir,
    );
    let meta = http::get(&one.addr, "/api/meta", &[]).json();
    let description = meta["source"]["description"].as_str().unwrap();
    assert!(
        description.ends_with(&format!("env {prod} only")),
        "{description}"
    );
    let envs = http::get(&one.addr, "/api/options", &[]).json()["env"].clone();
    assert_eq!(envs, serde_json::json!([prod]));
    let overview = http::get(&one.addr, "/api/overview", &[]).json();
    assert_eq!(overview["calls"], 3, "{overview}");
    // Asking for another environment shows nothing rather than this one.
    let other = http::get(&one.addr, &format!("/api/overview?env={dev}"), &[]).json();
    assert_eq!(other["calls"], 0, "{other}");
    let events = http::get(&one.addr, &format!("/api/events?env={dev}"), &[]);
    assert_eq!(events.status, 200, "{}", events.body);
    assert_eq!(
        events.json()["events"],
        serde_json::json!([]),
        "{}",
        events.body
    );
}
