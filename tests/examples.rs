//! Every example runs, against the test database and without any MongoDB.
//! `cargo test` builds the examples; this runs the built binaries.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

fn example(name: &str) -> PathBuf {
    // target/debug/deps/examples-… → target/debug/examples/NAME
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap().join("examples");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} not built (cargo test builds examples)",
        path.display()
    );
    path
}

fn run(name: &str, uri: &str) -> Output {
    let workdir = common::temp_dir("example");
    let output = Command::new(example(name))
        .current_dir(&workdir)
        .env("MONGODB_URI", uri)
        .env("PANOPTIC_SPOOL_DIR", workdir.join("spool"))
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{name} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn dead_uri() -> String {
    format!("mongodb://127.0.0.1:{}/", common::free_port())
}

#[test]
fn quickstart_reports_from_mongodb_when_it_answers() {
    let out = stdout(&run("quickstart", &common::mongodb_uri()));
    assert!(out.contains("written to MongoDB"), "{out}");
    for resource in ["daily_report", "summarize", "fetch_invoice", "cart_total"] {
        assert!(
            out.contains(resource),
            "{resource} missing from the report:\n{out}"
        );
    }
}

#[test]
fn quickstart_works_with_no_mongodb_at_all() {
    let output = run("quickstart", &dead_uri());
    let out = stdout(&output);
    assert!(out.contains("kept in the spool"), "{out}");
    assert!(
        out.contains("0.0021"),
        "the report comes from the spool:\n{out}"
    );
}

#[test]
fn basic_usage_multi_provider_and_error_handling_run() {
    let uri = common::mongodb_uri();
    let out = stdout(&run("basic_usage", &uri));
    assert!(out.contains("4 emitted, 4 in MongoDB"), "{out}");
    let out = stdout(&run("multi_provider", &uri));
    assert!(out.contains("5 events: 5 in MongoDB"), "{out}");
    let out = stdout(&run("error_handling", &dead_uri()));
    assert!(out.contains("0 in MongoDB, 4 in the spool"), "{out}");
    assert!(out.contains("quota exceeded after 5000 bytes"), "{out}");
}

#[cfg(feature = "gcp")]
#[test]
fn gcp_bigquery_runs_against_its_fake() {
    let output = Command::new(example("gcp_bigquery"))
        .current_dir(common::temp_dir("example"))
        .env("MONGODB_URI", common::mongodb_uri())
        .env_remove("GOOGLE_APPLICATION_CREDENTIALS")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
