//! A resource, a user, a username and a tag that are spreadsheet formulas
//! go through every CSV the command and the dashboard write, and through
//! both Excel writers: read back, no cell is a formula (OWASP's
//! CSV-injection rule: a text cell starting with `=`, `+`, `-`, `@`, tab or
//! carriage return gets a `'` before it; numbers stay numbers), and the
//! workbooks hold the text as text.

mod common;
#[path = "serve/http.rs"]
#[allow(dead_code)]
mod http;
#[path = "serve/server.rs"]
#[allow(dead_code)]
mod server;

use std::path::Path;

use calamine::{Data, Reader, Xlsx, open_workbook};
use chrono::{Duration, Utc};
use common::cli::{run, succeed};
use common::finance::{self, HOSTILE_RESOURCE, HOSTILE_TAG, HOSTILE_USER, HOSTILE_USERNAME};

const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Every cell of a CSV text, read with a CSV reader.
fn cells(csv: &str) -> Vec<String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(csv.as_bytes());
    reader
        .records()
        .flat_map(|r| r.unwrap().iter().map(String::from).collect::<Vec<_>>())
        .collect()
}

/// No cell a spreadsheet would run; the hostile texts are there, defused.
fn assert_safe(what: &str, csv: &str, hostile: &[&str]) {
    let cells = cells(csv);
    for cell in &cells {
        let live = cell.starts_with(FORMULA_START) && cell.parse::<f64>().is_err();
        assert!(!live, "{what}: a live formula: {cell:?}");
    }
    for text in hostile {
        let defused = format!("'{text}");
        assert!(
            cells.iter().any(|c| c == &defused || c.contains(&defused)),
            "{what}: {text:?} not found defused in\n{csv}"
        );
    }
}

/// Every cell of every sheet is a value, never a formula, and the hostile
/// texts are stored as the text they are.
fn assert_no_formula(path: &Path, hostile: &[&str]) {
    let mut workbook: Xlsx<_> = open_workbook(path).unwrap();
    let mut strings = Vec::new();
    for name in workbook.sheet_names() {
        let formulas = workbook.worksheet_formula(&name).unwrap();
        assert!(
            formulas.used_cells().all(|(_, _, f)| f.is_empty()),
            "{}: {name} has a formula",
            path.display()
        );
        let range = workbook.worksheet_range(&name).unwrap();
        strings.extend(range.used_cells().filter_map(|(_, _, cell)| match cell {
            Data::String(s) => Some(s.clone()),
            _ => None,
        }));
    }
    for text in hostile {
        assert!(
            strings.iter().any(|s| s == text),
            "{}: {text:?} is not a text cell",
            path.display()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_writer_lets_a_formula_through() {
    let ledger = finance::seed("hostile", Utc::now() - Duration::hours(1)).await;
    let env = ledger.env.clone();
    let uri = common::mongodb_uri();
    let dir = common::temp_dir("hostile");
    let spool = dir.join("spool");
    let since = ["--since", "1d"];
    let cli = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--env", &env]);
        all.extend(since);
        succeed(run(&all, &uri, &spool))
    };

    let export = cli(&["export", "--format", "csv"]);
    assert_safe(
        "export csv",
        &export,
        &[HOSTILE_RESOURCE, HOSTILE_USERNAME, "=1+2"],
    );
    let focus = cli(&["export", "--format", "focus"]);
    assert_safe(
        "export focus",
        &focus,
        &[HOSTILE_RESOURCE, HOSTILE_USER, HOSTILE_USERNAME],
    );
    // The tag is a key of the Tags JSON (it starts with `{`).
    assert!(
        focus.contains(&format!("{{\"\"{HOSTILE_TAG}\"\":null}}")),
        "{focus}"
    );
    let report = cli(&["report", "--format", "csv", "--by", "resource,user"]);
    assert_safe("report csv", &report, &[HOSTILE_RESOURCE, HOSTILE_USERNAME]);

    let events = dir.join("events.xlsx");
    cli(&[
        "export",
        "--format",
        "xlsx",
        "--output",
        events.to_str().unwrap(),
    ]);
    assert_no_formula(&events, &[HOSTILE_RESOURCE, HOSTILE_USERNAME, "=1+2"]);
    let report = dir.join("report.xlsx");
    cli(&[
        "report",
        "--by",
        "resource,user",
        "--xlsx",
        report.to_str().unwrap(),
    ]);
    assert_no_formula(&report, &[HOSTILE_RESOURCE, HOSTILE_USERNAME]);

    // A budget's name is the user's text too (budgets are per database:
    // this test binary's server has this one alone).
    let budget = "=HYPERLINK(\"http://evil.example/\",\"budget\")";
    succeed(run(
        &["budgets", "set", budget, "--limit", "10", "--period", "day"],
        &uri,
        &spool,
    ));
    let budgets = succeed(run(&["budgets", "list", "--format", "csv"], &uri, &spool));
    assert_safe("budgets csv", &budgets, &[budget]);

    // The dashboard's downloads.
    let serve = server::Serve::start(&["--bind", "127.0.0.1:0", "--env", &env], &uri, &dir);
    for (path, hostile) in [
        (
            "/api/events.csv",
            vec![HOSTILE_RESOURCE, HOSTILE_USERNAME, "=1+2"],
        ),
        ("/api/resources.csv", vec![HOSTILE_RESOURCE]),
        ("/api/users.csv", vec![HOSTILE_USERNAME]),
        ("/api/overview.csv", vec![]),
        ("/api/budgets.csv", vec![budget]),
    ] {
        let answer = http::get(&serve.addr, path, &[]);
        assert_eq!(answer.status, 200, "{path}: {}", answer.body);
        assert_safe(path, &answer.body, &hostile);
    }
}
