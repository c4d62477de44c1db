//! The foundation against a real server: routing, indexes, child loggers,
//! concurrency, outages, configuration errors.

mod common;

use std::time::Duration;

use bson::{Bson, doc};
use futures_util::TryStreamExt;
use panoptic::{Kind, Panoptic, Provider};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_to_env_database_and_provider_user_collection() {
    // `production` maps to the canonical `prod`; the username is unique to
    // this run so the shared database stays clean.
    let username = format!("Route Test {}", std::process::id());
    let panoptic = Panoptic::builder()
        .username(&username)
        .env("production")
        .mongodb_uri(common::mongodb_uri())
        .spool_dir(common::temp_dir("route"))
        .build()
        .unwrap();
    assert_eq!(panoptic.database_name(), "panoptic-prod");
    let log = panoptic.logger(Provider::Gcp, "BigQuery");
    panoptic::invoice!(log, "nightly_export"; "amount" => 0.42, "quantity" => 3);
    assert!(panoptic.flush());

    let collection = format!("gcp_route_test_{}", std::process::id());
    assert_eq!(
        collection,
        panoptic::naming::collection_name("gcp", &username)
    );
    let events = common::events("prod", &collection).await;
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event.env, "prod");
    assert_eq!(event.username, username, "username stored as given");
    assert_eq!(event.resource, "nightly_export");
    assert_eq!(event.amount.unwrap().to_string(), "0.42");
    assert_eq!(event.quantity, 3.0);
    assert_eq!(event.kind, Kind::Invoice);
    common::client()
        .await
        .database("panoptic-prod")
        .collection::<bson::Document>(&collection)
        .drop()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_the_indexes_once() {
    let env = common::unique_env("indexes");
    let panoptic = common::builder(&env).build().unwrap();
    let log = panoptic.logger(Provider::Gcp, "BigQuery");
    panoptic::invoice!(log, "first");
    assert!(panoptic.flush());

    let collection = common::client()
        .await
        .database(&panoptic.database_name())
        .collection::<bson::Document>("gcp_john_doe");
    let keys = || async {
        let indexes: Vec<_> = collection
            .list_indexes()
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        let mut keys: Vec<bson::Document> = indexes.into_iter().map(|i| i.keys).collect();
        keys.sort_by_key(|k| k.to_string());
        keys
    };
    let mut expected = vec![
        doc! { "_id": 1 },
        doc! { "ts": -1 },
        doc! { "service": 1 },
        doc! { "env": 1 },
        doc! { "ts": -1, "service": 1 },
        doc! { "metadata.start": 1, "ts": -1 },
        doc! { "metadata.call_id": 1 },
    ];
    expected.sort_by_key(|k| k.to_string());
    assert_eq!(keys().await, expected);

    // Created once: drop one, write again with the same handle, and it is
    // not asked for again.
    collection.drop_index("env_1").await.unwrap();
    panoptic::invoice!(log, "second");
    assert!(panoptic.flush());
    assert_eq!(keys().await.len(), 6, "indexes were created a second time");
    assert_eq!(common::events(&env, "gcp_john_doe").await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_logger_context_reaches_the_document() {
    let env = common::unique_env("context");
    let panoptic = common::builder(&env).build().unwrap();
    let openai = panoptic.logger(Provider::OpenAi, "Embeddings");
    let again = panoptic.logger(Provider::OpenAi, "Embeddings");
    assert_eq!(
        panoptic.cached_loggers(),
        1,
        "same provider+service is one cached logger"
    );
    let _other = panoptic.logger(Provider::OpenAi, "TTS");
    assert_eq!(panoptic.cached_loggers(), 2);

    panoptic::token_usage!(openai, "embed_docs"; "quantity" => 1200, "unit" => "tokens", "batch" => 7);
    panoptic::charge!(again, "fine_tune_fee"; "amount" => "15.00", "user" => "acme", "requestId" => "r-1");
    panoptic::invoice!(again, "storage_fee");
    slog::info!(again, "a plain log line is not a billing event");
    assert!(panoptic.flush());

    let mut events = common::events(&env, "openai_john_doe").await;
    events.sort_by_key(|e| e.resource.clone());
    assert_eq!(events.len(), 3, "{events:#?}");
    for e in &events {
        assert_eq!(e.provider, "openai");
        assert_eq!(e.service, "Embeddings");
        assert_eq!(e.username, "John Doe");
        assert_eq!(e.project_id.as_deref(), Some("test-project"));
        assert_eq!(e.env, env);
        assert_eq!(e.category, panoptic::Category::Ai);
    }
    let embed = events.iter().find(|e| e.resource == "embed_docs").unwrap();
    assert_eq!(embed.kind, Kind::TokenUsage);
    assert_eq!(embed.unit, "tokens");
    assert_eq!(embed.quantity, 1200.0);
    assert_eq!(embed.metadata.extra.get("batch"), Some(&Bson::Int64(7)));
    let fee = events
        .iter()
        .find(|e| e.resource == "fine_tune_fee")
        .unwrap();
    assert_eq!(fee.kind, Kind::Charge);
    assert_eq!(fee.amount.unwrap().to_string(), "15.00");
    assert_eq!(fee.metadata.user.as_deref(), Some("acme"));
    assert_eq!(fee.metadata.request_id.as_deref(), Some("r-1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_events_from_four_threads_arrive_exactly_once() {
    let env = common::unique_env("concurrency");
    let panoptic = common::builder(&env).batch_size(250).build().unwrap();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let log = panoptic.logger(Provider::Aws, "Lambda");
            std::thread::spawn(move || {
                for i in 0..2_500u32 {
                    panoptic::invoice!(log, "handler"; "thread" => t, "seq" => i, "amount" => 0.0001);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert!(panoptic.flush());
    let stats = panoptic.stats();
    assert_eq!(stats.emitted, 10_000);
    assert_eq!(stats.written, 10_000, "{stats:?}");

    let documents = common::documents(&env, "aws_john_doe").await;
    assert_eq!(documents.len(), 10_000);
    let mut seen = std::collections::HashSet::new();
    for d in &documents {
        let key = (
            d.get_document("metadata")
                .unwrap()
                .get_i64("thread")
                .unwrap(),
            d.get_document("metadata").unwrap().get_i64("seq").unwrap(),
        );
        assert!(seen.insert(key), "duplicate event {key:?}");
        // Field types as the schema says.
        assert!(matches!(d.get("_id"), Some(Bson::ObjectId(_))));
        assert!(matches!(d.get("ts"), Some(Bson::DateTime(_))));
        assert!(matches!(d.get("amount"), Some(Bson::Decimal128(_))));
        assert!(matches!(d.get("quantity"), Some(Bson::Double(_))));
        assert_eq!(d.get_str("currency").unwrap(), "USD");
        assert_eq!(d.get_str("category").unwrap(), "INFRA");
        assert_eq!(d.get_str("outcome").unwrap(), "ok");
    }
    assert_eq!(seen.len(), 10_000);
}

#[test]
fn missing_or_blank_username_is_a_clear_error() {
    for builder in [Panoptic::builder(), Panoptic::builder().username("   ")] {
        // PANOPTIC_USERNAME must not rescue this test.
        if std::env::var("PANOPTIC_USERNAME").is_ok() {
            return;
        }
        let error = builder.build().unwrap_err();
        assert!(matches!(error, panoptic::Error::MissingUsername));
        assert!(error.to_string().contains("username"), "{error}");
    }
}

#[test]
fn bad_uri_is_a_clear_error_without_the_password() {
    let error = Panoptic::builder()
        .username("ann")
        .mongodb_uri("mongodb://ann:hunter2@/nohost?bogus=")
        .build()
        .unwrap_err();
    let text = error.to_string();
    assert!(text.contains("invalid MongoDB URI"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
}

/// Child process of `server_down_reports_once`: emits into a dead port.
#[test]
fn server_down_child() {
    if std::env::var("PANOPTIC_SERVER_DOWN_CHILD").is_err() {
        return;
    }
    let port = common::free_port();
    let spool_dir = common::temp_dir("down");
    let panoptic = Panoptic::builder()
        .username("ann")
        .spool_dir(&spool_dir)
        .env(common::unique_env("down"))
        .mongodb_uri(format!("mongodb://ann:hunter2@127.0.0.1:{port}/"))
        .server_timeout(Duration::from_millis(200))
        .flush_interval(Duration::from_millis(20))
        .batch_size(10)
        .build()
        .unwrap();
    let log = panoptic.logger(Provider::Gcp, "CloudRun");
    for _ in 0..200 {
        panoptic::invoice!(log, "still_running");
    }
    assert!(panoptic.flush());
    let stats = panoptic.stats();
    assert_eq!(stats.emitted, 200);
    assert_eq!(stats.spooled, 200, "{stats:?}");
    assert_eq!((stats.written, stats.failed, stats.dropped), (0, 0, 0));
    assert!(stats.last_error.is_some());
    // Nothing lost: every event waits in the spool, without the password.
    assert_eq!(panoptic.spool().events().unwrap().len(), 200);
    for segment in std::fs::read_dir(&spool_dir).unwrap() {
        let bytes = std::fs::read(segment.unwrap().path()).unwrap();
        assert!(!String::from_utf8_lossy(&bytes).contains("hunter2"));
    }
    println!("CHILD-OK");
}

#[test]
fn server_down_reports_once_and_never_panics() {
    let output = common::child_test("server_down_child")
        .env("PANOPTIC_SERVER_DOWN_CHILD", "1")
        .env_remove("MONGODB_URI")
        .output()
        .unwrap();
    common::child_lines(&output, "CHILD-OK");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("hunter2"), "password leaked: {stderr}");
    assert!(!stdout.contains("hunter2"), "password leaked: {stdout}");
}

/// A drain that keeps each record's message and key-values as text.
#[derive(Clone, Default)]
struct Collect(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl slog::Drain for Collect {
    type Ok = ();
    type Err = slog::Never;
    fn log(&self, record: &slog::Record, values: &slog::OwnedKVList) -> Result<(), slog::Never> {
        struct Text(String);
        impl slog::Serializer for Text {
            fn emit_arguments(
                &mut self,
                key: slog::Key,
                val: &std::fmt::Arguments,
            ) -> slog::Result {
                self.0.push_str(&format!(" {key}={val}"));
                Ok(())
            }
        }
        let mut text = Text(format!("[{}] {}", record.tag(), record.msg()));
        let _ = slog::KV::serialize(&record.kv(), record, &mut text);
        let _ = slog::KV::serialize(values, record, &mut text);
        self.0.lock().unwrap().push(text.0);
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_drains_see_every_record_beside_mongodb() {
    let env = common::unique_env("drains");
    let seen = Collect::default();
    let panoptic = common::builder(&env).drain(seen.clone()).build().unwrap();
    let log = panoptic.logger(Provider::Gcp, "BigQuery");
    panoptic::invoice!(log, "nightly_export"; "amount" => 0.42);
    slog::info!(log, "not billing"; "rows" => 3);
    assert!(panoptic.flush());

    let lines = seen.0.lock().unwrap().clone();
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert!(
        lines[0].starts_with("[invoice] nightly_export amount=0.42"),
        "{}",
        lines[0]
    );
    for key in [
        "provider=gcp",
        "service=BigQuery",
        "username=John Doe",
        &format!("env={env}"),
    ] {
        assert!(lines[0].contains(key), "{key} missing: {}", lines[0]);
    }
    assert!(lines[1].contains("not billing rows=3"));
    // MongoDB got the billing record only.
    assert_eq!(common::events(&env, "gcp_john_doe").await.len(), 1);
}

/// Child of `dotenv_file_supplies_defaults`: runs in a folder with a `.env`.
#[test]
fn dotenv_child() {
    if std::env::var("PANOPTIC_DOTENV_CHILD").is_err() {
        return;
    }
    let panoptic = Panoptic::builder().build().expect("username from .env");
    println!(
        "DOTENV {} {} {}",
        panoptic.username(),
        panoptic.env(),
        panoptic.project_id().unwrap_or("-")
    );
}

#[test]
fn dotenv_file_supplies_defaults_without_touching_the_environment() {
    let dir = common::temp_dir("dotenv");
    std::fs::write(
        dir.join(".env"),
        "PANOPTIC_USERNAME=from_dotenv\nPANOPTIC_ENV=production\nPANOPTIC_PROJECT=dotenv-project\n",
    )
    .unwrap();
    let output = common::child_test("dotenv_child")
        .current_dir(&dir)
        .env("PANOPTIC_DOTENV_CHILD", "1")
        .env("PANOPTIC_SPOOL_DIR", dir.join("spool"))
        .env_remove("PANOPTIC_USERNAME")
        .env_remove("PANOPTIC_ENV")
        .env_remove("NODE_ENV")
        .env_remove("PANOPTIC_PROJECT")
        .output()
        .unwrap();
    let stdout = passed_stdout(&output);
    assert!(
        stdout.contains("DOTENV from_dotenv prod dotenv-project"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_project_is_stored_as_null_not_an_empty_string() {
    let env = common::unique_env("noproject");
    let panoptic = Panoptic::builder()
        .username("John Doe")
        .env(&env)
        .mongodb_uri(common::mongodb_uri())
        .spool_dir(common::temp_dir("noproject"))
        .build()
        .unwrap();
    if panoptic.project_id().is_some() {
        return; // PANOPTIC_PROJECT is set in this environment
    }
    let log = panoptic.logger(Provider::Gcp, "BigQuery");
    panoptic::invoice!(log, "without_project");
    assert!(panoptic.flush());
    let documents = common::documents(&env, "gcp_john_doe").await;
    assert_eq!(documents.len(), 1);
    assert_eq!(documents[0].get("projectId"), Some(&Bson::Null));
}

/// A thread's nice value, from `/proc/self/task/{tid}/stat` (or
/// `/proc/thread-self/stat` for the calling thread).
#[cfg(target_os = "linux")]
fn nice_of(stat_path: &std::path::Path) -> i32 {
    let stat = std::fs::read_to_string(stat_path).expect("thread stat");
    // The name is in parentheses and may hold spaces: fields count from
    // the last `)`, where field 3 (the state) begins; nice is field 19.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 1..]
        .split_whitespace()
        .collect();
    fields[19 - 3].parse().expect("nice value")
}

/// The `stat` files of this process's threads named `panoptic-writer`.
#[cfg(target_os = "linux")]
fn writer_threads() -> Vec<std::path::PathBuf> {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .filter_map(Result::ok)
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm"))
                .is_ok_and(|comm| comm.trim_end() == "panoptic-writer")
        })
        .map(|task| task.path().join("stat"))
        .collect()
}

/// The child of `the_writer_runs_below_the_application`: builds one
/// instance at a time (alone in its process, so its writer is the only
/// thread of that name) and prints the writer's nice value beside the
/// application thread's.
#[cfg(target_os = "linux")]
#[test]
fn writer_priority_child() {
    if std::env::var_os("PANOPTIC_WRITER_PRIORITY_CHILD").is_none() {
        return;
    }
    for steps in [None, Some(0), Some(5), Some(19), Some(200)] {
        let mut builder = common::builder(&common::unique_env("nice"));
        if let Some(steps) = steps {
            builder = builder.writer_nice(steps);
        }
        let panoptic = builder.build().unwrap();
        // Answered by the writer, which lowers its priority before anything.
        assert!(panoptic.flush());
        let writers = writer_threads();
        assert_eq!(writers.len(), 1, "one writer thread: {writers:?}");
        let writer = nice_of(&writers[0]);
        let application = nice_of(std::path::Path::new("/proc/thread-self/stat"));
        println!("NICE {steps:?} writer {writer} application {application}");
        drop(panoptic); // the last handle: shuts the writer down
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !writer_threads().is_empty() {
            assert!(std::time::Instant::now() < deadline, "writer still running");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

#[cfg(target_os = "linux")]
#[test]
fn the_writer_runs_below_the_application() {
    // The server is this process's: a server the child started would hold
    // its output open past its exit.
    let output = common::child_test("writer_priority_child")
        .env("PANOPTIC_WRITER_PRIORITY_CHILD", "1")
        .env("MONGODB_URI", common::mongodb_uri())
        .output()
        .unwrap();
    let stdout = passed_stdout(&output);
    let lines: Vec<(String, i32, i32)> = stdout
        .lines()
        // The harness may print the test's name on the first line.
        .filter_map(|line| line.split_once("NICE ").map(|(_, rest)| rest))
        .map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            (
                words[0].to_owned(),
                words[2].parse().unwrap(),
                words[4].parse().unwrap(),
            )
        })
        .collect();
    let steps = ["None", "Some(0)", "Some(5)", "Some(19)", "Some(200)"];
    assert_eq!(
        lines.iter().map(|l| l.0.as_str()).collect::<Vec<_>>(),
        steps,
        "{stdout}"
    );
    // Relative to the application, which may itself run niced; the kernel
    // caps nice at 19.
    let application = lines[0].2;
    let expected = [10, 0, 5, 19, 19].map(|steps| (application + steps).min(19));
    for ((what, writer, app), expected) in lines.iter().zip(expected) {
        assert_eq!(
            *app, application,
            "{what}: the application's priority changed"
        );
        assert_eq!(*writer, expected, "{what}: writer nice {writer}\n{stdout}");
    }
}

/// A child test's standard output, once it is known to have passed.
fn passed_stdout(output: &std::process::Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}
