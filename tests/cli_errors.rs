//! With MongoDB absent, every command that reaches it says so in one line:
//! what failed, where (the host and port, never the password) and what to
//! try. Never the driver's dump of its topology.
//!
//! "Absent" is a loopback port bound and then dropped: nothing listens, so
//! each command gives up after `--timeout 1`.

mod common;
// Shared with tests/serve.rs, which uses all of it.
#[allow(dead_code)]
#[path = "serve/http.rs"]
mod http;

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;

use panoptic::{Panoptic, Provider};

/// The password in the URI: it must never be printed.
const PASSWORD: &str = "s3cret-pw";

/// A URI at a port where nothing listens, and its `host:port`.
fn dead_uri() -> (String, String) {
    let host = format!("127.0.0.1:{}", common::free_port());
    (format!("mongodb://ann:{PASSWORD}@{host}/"), host)
}

use common::cli::text;

/// With a one-second wait for MongoDB.
fn panoptic(args: &[&str], uri: &str, spool: &Path) -> Output {
    common::cli::command(uri, spool)
        .args(args)
        .args(["--timeout", "1"])
        .output()
        .unwrap()
}

/// The checks every MongoDB failure line passes.
fn assert_one_good_line(what: &str, line: &str, host: &str) {
    assert!(!line.contains('\n'), "{what}: more than one line: {line}");
    for dump in ["Topology:", "Servers:", "Kind:", "labels:", PASSWORD] {
        assert!(!line.contains(dump), "{what}: `{dump}` in {line}");
    }
    assert!(
        line.contains(&format!("MongoDB at {host} did not answer")),
        "{what}: where? {line}"
    );
    assert!(
        line.contains("is it running? check MONGODB_URI or --mongodb-uri"),
        "{what}: what to try? {line}"
    );
}

/// Events in the spool, so that `replay` has something to deliver.
fn spool_some(spool: &Path) {
    let (uri, _) = dead_uri();
    let handle = Panoptic::builder()
        .username("cli errors")
        .env(common::unique_env("cli-errors"))
        .mongodb_uri(uri)
        .spool_dir(spool)
        .server_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let bq = handle.logger(Provider::Gcp, "BigQuery");
    panoptic::invoice!(bq, "daily_report"; "amount" => "0.25");
    assert!(handle.flush());
    assert_eq!(handle.stats().spooled, 1);
}

/// Commands that need MongoDB fail with exactly one line on stderr.
#[test]
fn each_command_that_needs_mongodb_fails_in_one_line() {
    let spool = common::temp_dir("cli-errors-fail");
    spool_some(&spool);
    let (uri, host) = dead_uri();
    let failing: [&[&str]; 8] = [
        &["replay"],
        &["indexes"],
        &[
            "reconcile",
            "--provider",
            "mongodb_atlas",
            "--atlas-tier",
            "M10",
            "--since",
            "2d",
        ],
        &["budgets"],
        &["budgets", "list"],
        &["budgets", "list", "--format", "json"],
        &["budgets", "set", "daily", "--limit", "5", "--period", "day"],
        &["budgets", "rm", "daily"],
    ];
    // In parallel: each waits out its timeout.
    let outputs: Vec<(Vec<&str>, Output)> = std::thread::scope(|scope| {
        let running: Vec<_> = failing
            .iter()
            .map(|args| {
                let (uri, spool) = (&uri, &spool);
                (
                    args.to_vec(),
                    scope.spawn(move || panoptic(args, uri, spool)),
                )
            })
            .collect();
        running
            .into_iter()
            .map(|(args, run)| (args, run.join().unwrap()))
            .collect()
    });
    for (args, output) in outputs {
        let stderr = text(&output.stderr);
        let what = format!("{args:?}");
        assert!(!output.status.success(), "{what} should fail: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{what}: {stderr}");
        let line = stderr.trim_end_matches('\n');
        assert!(line.starts_with("panoptic: MongoDB at "), "{what}: {line}");
        assert_one_good_line(&what, line, &host);
    }
}

/// `report` and `export` read the spool instead: one line says why.
#[test]
fn report_and_export_say_in_one_line_why_they_read_the_spool() {
    let spool = common::temp_dir("cli-errors-spool");
    let (uri, host) = dead_uri();
    for args in [&["report"][..], &["export", "--format", "csv"]] {
        let output = panoptic(args, &uri, &spool);
        let stderr = text(&output.stderr);
        let what = format!("{args:?}");
        assert!(output.status.success(), "{what}: {stderr}");
        let first = stderr.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("panoptic: MongoDB at "),
            "{what}: {stderr}"
        );
        assert!(first.ends_with(&format!(
            "; reading the spool at {} meanwhile",
            spool.display()
        )));
        assert_one_good_line(&what, first, &host);
        // The other lines are the command's own (the source, a count).
        assert_eq!(
            stderr.lines().filter(|l| l.contains("MongoDB")).count(),
            1,
            "{what}: {stderr}"
        );
        for dump in ["Topology:", "Servers:", "Kind:", PASSWORD] {
            assert!(!stderr.contains(dump), "{what}: {stderr}");
        }
    }
}

/// `serve` serves the spool: its one line on stderr, and the same line as
/// the JSON reason the dashboard shows.
#[test]
fn serve_reads_the_spool_and_says_why_in_one_line() {
    let spool = common::temp_dir("cli-errors-serve");
    let (uri, host) = dead_uri();
    let mut child = common::cli::command(&uri, &spool)
        .args(["serve", "--bind", "127.0.0.1:0", "--timeout", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut serving = String::new();
    stdout.read_line(&mut serving).unwrap();
    let port = serving
        .split("serving http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .and_then(|addr| addr.rsplit(':').next())
        .unwrap_or_else(|| panic!("no address in {serving:?}"))
        .to_owned();
    let meta = http::get(&format!("127.0.0.1:{port}"), "/api/meta", &[]);
    let _ = child.kill();
    let _ = child.wait();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();

    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let line = stderr.trim_end_matches('\n');
    assert!(line.ends_with("; reading the spool"), "{line}");
    assert_one_good_line("serve (stderr)", line, &host);

    assert_eq!(meta.status, 200, "{}", meta.body);
    let meta = meta.json();
    assert_eq!(meta["source"]["kind"], "spool");
    let reason = meta["source"]["reason"].as_str().unwrap();
    assert_one_good_line("serve (/api/meta)", reason, &host);
}
