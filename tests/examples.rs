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
        .env_remove("PANOPTIC_PRICES")
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

/// The line of the quickstart's report that starts with `resource` and
/// mentions `marker`.
fn report_line<'a>(out: &'a str, resource: &str, marker: &str) -> &'a str {
    out.lines()
        .find(|line| line.starts_with(resource) && line.contains(marker))
        .unwrap_or_else(|| panic!("no `{resource}` line with `{marker}`:\n{out}"))
}

/// What the quickstart must show, wherever its report came from: the
/// model call priced from the book's figures, the unknown model unpriced
/// with its reason, the failed call, the block in its own currency, and a
/// total per currency that counts the unpriced calls apart.
fn assert_quickstart_report(out: &str) {
    // gpt-4o-mini: 1200 input tokens at 0.15 and 300 output tokens at
    // 0.60 USD per million.
    let by_hand = rust_decimal::Decimal::from(1200) * rust_decimal::Decimal::new(15, 2)
        / rust_decimal::Decimal::from(1_000_000)
        + rust_decimal::Decimal::from(300) * rust_decimal::Decimal::new(60, 2)
            / rust_decimal::Decimal::from(1_000_000);
    let priced = format!("{} USD", by_hand.normalize());
    let line = report_line(out, "ask_model", &priced);
    assert!(line.contains("price book: openai/gpt-4o-mini"), "{line}");
    let line = report_line(out, "ask_model", "gpt-9-preview");
    assert!(
        line.contains("unpriced") && line.contains("not in the openai price book"),
        "{line}"
    );
    let line = report_line(out, "fetch_invoice", "error");
    assert!(line.contains("unpriced"), "{line}");
    let line = report_line(out, "geocode", "0.004 EUR");
    assert!(line.contains("given by the call site"), "{line}");
    assert!(
        out.contains(&format!(
            "total: 0.004 EUR + {priced} (2 of 4 calls unpriced, not counted)"
        )),
        "{out}"
    );
    assert!(
        out.contains("--example gcp_bigquery --features gcp"),
        "{out}"
    );
    assert!(
        out.contains("--example openai_chat --features openai"),
        "{out}"
    );
}

#[test]
fn quickstart_reports_from_mongodb_when_it_answers() {
    let out = stdout(&run("quickstart", &common::mongodb_uri()));
    assert!(out.contains("written to MongoDB"), "{out}");
    assert_quickstart_report(&out);
}

#[test]
fn quickstart_works_with_no_mongodb_at_all() {
    let output = run("quickstart", &dead_uri());
    let out = stdout(&output);
    assert!(out.contains("kept in the spool"), "{out}");
    assert_quickstart_report(&out);
    // The library says it once, in the commands' one line: where, why,
    // what to try, and where the events wait meanwhile.
    let err = String::from_utf8_lossy(&output.stderr);
    let unanswered: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("did not answer"))
        .collect();
    assert_eq!(unanswered.len(), 1, "{err}");
    assert!(
        unanswered[0].contains("is it running?")
            && unanswered[0].contains("events go to the spool"),
        "{err}"
    );
    assert!(!err.contains("Topology") && !err.contains("Kind:"), "{err}");
    // The README shows this output: every line of it, as printed.
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let shown = readme
        .split("`cargo run --example quickstart` (no feature")
        .nth(1)
        .and_then(|after| after.split("```text\n").nth(1))
        .and_then(|block| block.split("```").next())
        .expect("README shows the quickstart's output");
    for line in shown.lines().filter(|l| !l.trim().is_empty()) {
        assert!(
            out.lines().any(|o| o.trim_end() == line.trim_end()),
            "README line not printed: {line}\n{out}"
        );
    }
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

/// Both directions with no MongoDB: the span and the billed call spooled,
/// the billed call shown in the log as a `panoptic` event.
#[cfg(feature = "tracing")]
#[test]
fn tracing_spans_runs_with_no_mongodb() {
    let out = stdout(&run("tracing_spans", &dead_uri()));
    assert!(
        out.contains("billed: 2 events (0 in MongoDB, 2 in the spool)"),
        "{out}"
    );
    let event = out
        .lines()
        .find(|line| line.contains("panoptic: billable call"))
        .unwrap_or_else(|| panic!("no billable call event:\n{out}"));
    assert!(event.contains("resource=\"lookup_glossary\""), "{event}");
}

#[test]
fn focus_rows_prints_a_row_per_component_and_the_unpriced_reason() {
    let out = stdout(&run("focus_rows", &dead_uri()));
    assert!(out.starts_with("FOCUS 1.2"), "{out}");
    // input and output tokens, then the unpriced call.
    assert_eq!(
        out.matches("ChargeCategory       Usage").count(),
        3,
        "{out}"
    );
    assert!(out.contains("PricingUnit          1000000 tokens"), "{out}");
    assert!(out.contains("ListCost             (empty)"), "{out}");
    assert!(
        out.contains("x_Unpriced           `gpt-9-preview` is not in the openai price book"),
        "{out}"
    );
}
