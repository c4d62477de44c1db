//! Shared by the integration tests: a real MongoDB-compatible server, and
//! ways to read back what panoptic wrote.
//!
//! With `MONGODB_URI` set, tests use that server. Otherwise the first test
//! of a test binary starts `secantusd-rs` (path from `PANOPTIC_TESTDB_BIN`,
//! else `scripts/testdb install`) on a free loopback port with a temporary
//! store; a watchdog shell stops it when the test binary exits.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use bson::{Document, doc};
use panoptic::BillingEvent;

pub mod budget_state;
pub mod call_error;
#[cfg(feature = "gcp")]
pub mod fake_bigquery;
pub mod finance;
pub mod rollup;
#[cfg(feature = "aws-bill")]
pub mod sigv4_check;
// Run the CLI, which only a build with the feature `cli` has.
#[cfg(feature = "cli")]
pub mod cli;
#[cfg(feature = "cli")]
pub mod reconcile_cli;

/// The URI of the test server for this test binary.
pub fn mongodb_uri() -> String {
    static URI: OnceLock<String> = OnceLock::new();
    URI.get_or_init(|| match std::env::var("MONGODB_URI") {
        Ok(uri) if !uri.trim().is_empty() => uri,
        _ => {
            let server = TestServer::start();
            let uri = server.uri();
            // Lives as long as the test binary; the watchdog stops it.
            std::mem::forget(server);
            uri
        }
    })
    .clone()
}

/// An environment name no other test uses, so each test reads its own
/// database (`panoptic-{env}`).
pub fn unique_env(test: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!(
        "t_{}_{}_{}",
        test,
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A secantusd-rs process started by a test.
pub struct TestServer {
    pub port: u16,
    pub store: PathBuf,
    pid: u32,
    watchdog: std::process::Child,
}

impl TestServer {
    /// Starts a server on a free port with a new temporary store.
    pub fn start() -> TestServer {
        let store = tempfile::Builder::new()
            .prefix("panoptic-testdb")
            .tempdir()
            .expect("temporary store")
            .keep();
        TestServer::start_at(free_port(), store)
    }

    /// Starts a server on `port` with `store` (reopened intact if it exists).
    pub fn start_at(port: u16, store: PathBuf) -> TestServer {
        TestServer::start_with(port, store, &[])
    }

    /// Starts a server with extra flags (`--auth`, `--sync-on-commit`).
    pub fn start_with(port: u16, store: PathBuf, extra: &[&str]) -> TestServer {
        let bin = server_binary();
        let log = store.with_extension("log");
        // The shell starts the server, prints its pid, and kills it when the
        // test process is gone, so no server outlives its tests.
        let script = r#"
            "$0" "$@" >>"$LOG" 2>&1 &
            server=$!
            echo "$server"
            while kill -0 "$PARENT" 2>/dev/null && kill -0 "$server" 2>/dev/null; do sleep 0.2; done
            kill -9 "$server" 2>/dev/null
        "#;
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg(&bin)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .arg("--storage-path")
            .arg(&store)
            .args(["--cache-size", "256M", "--log-file-max", "16MB"])
            .args(extra)
            .env("LOG", &log)
            .env("PARENT", std::process::id().to_string())
            .stdout(Stdio::piped())
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("server pid");
        let pid: u32 = line.trim().parse().expect("pid printed by the watchdog");
        let server = TestServer {
            port,
            store,
            pid,
            watchdog: child,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "test server did not listen on {port}; log: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    pub fn uri(&self) -> String {
        format!("mongodb://127.0.0.1:{}/", self.port)
    }

    /// SIGKILL, as a crash would.
    pub fn kill(&self) {
        let _ = Command::new("kill")
            .args(["-9", &self.pid.to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_ok() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl TestServer {
    /// SIGSTOP: the server keeps its port open and answers nothing, as a
    /// frozen or partitioned host does.
    pub fn freeze(&self) {
        self.signal("-STOP");
        // kill(1) returns once the signal is sent: wait until every thread
        // has stopped, so that nothing sent after this returns is answered
        // before a thaw.
        let deadline = Instant::now() + Duration::from_secs(5);
        while !self.is_stopped() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Whether every thread of the server is stopped (`T` in
    /// `/proc/{pid}/task/*/stat`); true where `/proc` cannot tell.
    fn is_stopped(&self) -> bool {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{}/task", self.pid)) else {
            return true;
        };
        tasks.flatten().all(|task| {
            std::fs::read_to_string(task.path().join("stat")).is_ok_and(|stat| {
                stat.rsplit_once(')')
                    .is_some_and(|(_, rest)| rest.trim_start().starts_with(['T', 't']))
            })
        })
    }

    /// SIGCONT after [`freeze`](Self::freeze).
    pub fn thaw(&self) {
        self.signal("-CONT");
    }

    /// Whether the server process still exists (a kill took effect when
    /// it does not).
    pub fn is_alive(&self) -> bool {
        Command::new("kill")
            .args(["-0", &self.pid.to_string()])
            .status()
            .is_ok_and(|s| s.success())
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.pid.to_string()])
            .status()
            .expect("kill");
        assert!(status.success(), "kill {signal} {} failed", self.pid);
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
        let _ = self.watchdog.wait();
    }
}

fn server_binary() -> PathBuf {
    if let Ok(bin) = std::env::var("PANOPTIC_TESTDB_BIN")
        && Path::new(&bin).exists()
    {
        return PathBuf::from(bin);
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/testdb");
    let output = Command::new("bash")
        .arg(script)
        .arg("install")
        .stderr(Stdio::inherit())
        .output()
        .expect("scripts/testdb install");
    assert!(output.status.success(), "scripts/testdb install failed");
    PathBuf::from(String::from_utf8(output.stdout).expect("path").trim())
}

/// A loopback port nobody listens on.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A loopback port where a "server" accepts connections and never answers:
/// every operation sent there hangs until its timeout (a frozen server,
/// not a down one). Connections stay open for the test's life.
pub fn black_hole() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("local address").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().take(64) {
            held.push(stream);
        }
        // Keeps the accepted ones open after the last accept.
        std::thread::park();
    });
    port
}

/// The one event stored for `resource`; panics when there is none, or more.
pub fn by_resource<'a>(events: &'a [BillingEvent], resource: &str) -> &'a BillingEvent {
    let mut found = events.iter().filter(|e| e.resource == resource);
    let event = found
        .next()
        .unwrap_or_else(|| panic!("no event for {resource}"));
    assert!(found.next().is_none(), "{resource} stored twice");
    event
}

/// A driver client for reading back.
pub async fn client() -> mongodb::Client {
    mongodb::Client::with_uri_str(mongodb_uri())
        .await
        .expect("client")
}

/// A driver client for `uri`.
pub async fn client_for(uri: &str) -> mongodb::Client {
    mongodb::Client::with_uri_str(uri).await.expect("client")
}

/// How many documents `collection` of `database` holds at `uri` (0 when
/// the server does not answer).
pub async fn count_at(uri: &str, database: &str, collection: &str) -> u64 {
    let client = client_for(uri).await;
    client
        .database(database)
        .collection::<Document>(collection)
        .count_documents(doc! {})
        .await
        .unwrap_or(0)
}

/// Every document of `collection` in `panoptic-{env}`.
pub async fn documents(env: &str, collection: &str) -> Vec<Document> {
    documents_at(&mongodb_uri(), env, collection).await
}

/// Every document of `collection` in `panoptic-{env}` at `uri`.
pub async fn documents_at(uri: &str, env: &str, collection: &str) -> Vec<Document> {
    use futures_util::TryStreamExt;
    client_for(uri)
        .await
        .database(&panoptic::naming::database_name(env))
        .collection::<Document>(collection)
        .find(doc! {})
        .await
        .expect("find")
        .try_collect()
        .await
        .expect("documents")
}

/// Every event of `collection` in `panoptic-{env}` at `uri`, parsed.
#[allow(dead_code)]
pub async fn events_at(uri: &str, env: &str, collection: &str) -> Vec<BillingEvent> {
    documents_at(uri, env, collection)
        .await
        .iter()
        .map(|d| BillingEvent::from_document(d).expect("a valid billing event"))
        .collect()
}

/// Every event of `collection` in `panoptic-{env}`, parsed.
pub async fn events(env: &str, collection: &str) -> Vec<BillingEvent> {
    documents(env, collection)
        .await
        .iter()
        .map(|d| BillingEvent::from_document(d).expect("a valid billing event"))
        .collect()
}

/// Every adjustment of `env`, in any collection.
pub async fn adjustment_events(env: &str) -> Vec<BillingEvent> {
    let database = client()
        .await
        .database(&panoptic::naming::database_name(env));
    let mut all = Vec::new();
    for collection in database.list_collection_names().await.unwrap() {
        all.extend(
            events(env, &collection)
                .await
                .into_iter()
                .filter(|e| e.kind == panoptic::Kind::Adjustment),
        );
    }
    all
}

/// A builder pointed at the test server, with a unique env and a spool
/// folder of its own.
pub fn builder(env: &str) -> panoptic::PanopticBuilder {
    panoptic::Panoptic::builder()
        .username("John Doe")
        .project("test-project")
        .env(env)
        .mongodb_uri(mongodb_uri())
        .spool_dir(temp_dir("spool"))
}

/// A new temporary folder that outlives the test (the OS cleans /tmp).
pub fn temp_dir(prefix: &str) -> PathBuf {
    tempfile::Builder::new()
        .prefix(&format!("panoptic-{prefix}"))
        .tempdir()
        .expect("temporary folder")
        .keep()
}

/// Waits until `check` holds, polling, up to `limit`.
pub async fn eventually<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A handle for a server that may fail: short timeouts, quick retries.
pub fn resilient(uri: &str, env: &str, spool: &Path, username: &str) -> panoptic::PanopticBuilder {
    panoptic::Panoptic::builder()
        .username(username)
        .env(env)
        .mongodb_uri(uri)
        .spool_dir(spool)
        .server_timeout(Duration::from_millis(300))
        .retry_interval(Duration::from_millis(100))
        .flush_interval(Duration::from_millis(20))
}

/// The `metadata` of every document of `collection` in `panoptic-{env}`
/// at `uri`.
pub async fn metadata_at(uri: &str, env: &str, collection: &str) -> Vec<Document> {
    documents_at(uri, env, collection)
        .await
        .iter()
        .map(|d| d.get_document("metadata").expect("metadata").clone())
        .collect()
}

/// The `panoptic:` lines of a child's stderr: (errors, shutdown lines).
pub fn panoptic_lines(stderr: &str) -> (Vec<&str>, Vec<&str>) {
    stderr
        .lines()
        .filter(|l| l.starts_with("panoptic:"))
        .partition(|l| !l.starts_with("panoptic: shutdown:"))
}

/// This test binary, run for the one test `name` (a child process that a
/// test kills, or whose output it reads).
pub fn child_test(name: &str) -> Command {
    let mut command = Command::new(std::env::current_exe().expect("test binary"));
    command.args(["--exact", name, "--nocapture", "--test-threads=1"]);
    command
}

/// Checks a child test's output: it passed, printed `marker`, and its
/// stderr holds exactly one error line plus the shutdown line, which must
/// say that no event was left only in memory. Returns (error, shutdown).
pub fn child_lines(output: &std::process::Output, marker: &str) -> (String, String) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains(marker), "{stdout}");
    let (errors, shutdown) = panoptic_lines(&stderr);
    assert_eq!(errors.len(), 1, "expected one error line, got: {errors:#?}");
    assert_eq!(
        shutdown.len(),
        1,
        "expected one shutdown line: {shutdown:#?}"
    );
    assert!(
        shutdown[0].contains(" 0 event(s) not durable;"),
        "{}",
        shutdown[0]
    );
    (errors[0].to_owned(), shutdown[0].to_owned())
}

/// Logs one `invoice` per number of `seqs` (key `seq`) through the handle's
/// Google BigQuery logger, then flushes.
pub fn invoices(panoptic: &panoptic::Panoptic, seqs: std::ops::Range<i64>) {
    let log = panoptic.logger(panoptic::Provider::Gcp, "BigQuery");
    for seq in seqs {
        panoptic::invoice!(log, "invoice"; "seq" => seq);
    }
    assert!(panoptic.flush(), "flush timed out");
}

/// An `invoice` event as history is stored: one call of `resource`,
/// priced `amount`, at `ts`; the other fields as a plain call has them
/// (fill in env, username or metadata with struct update syntax).
pub fn stored_invoice(
    (provider, service, resource): (&str, &str, &str),
    amount: panoptic::Decimal,
    ts: chrono::DateTime<chrono::Utc>,
) -> BillingEvent {
    BillingEvent {
        id: bson::oid::ObjectId::new(),
        ts,
        project_id: None,
        env: String::new(),
        username: String::new(),
        category: panoptic::Category::Infra,
        provider: provider.into(),
        service: service.into(),
        resource: resource.into(),
        kind: panoptic::Kind::Invoice,
        outcome: panoptic::Outcome::Ok,
        quantity: 1.0,
        unit: "call".into(),
        amount: Some(amount),
        currency: "USD".into(),
        metadata: panoptic::Metadata::default(),
    }
}

/// Copies the folder `from` (files and folders) to `to`: a spool as it was,
/// for a second process.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
