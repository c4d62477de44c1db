//! The `panoptic` command against a spool and the real test database.

mod common;

use std::path::Path;
use std::time::Duration;

use panoptic::{Panoptic, Provider};

use common::cli::{run as panoptic, succeed, text};

/// 30 BigQuery events at 0.25 and 10 CloudRun events at 0.1 (2 failed),
/// spooled because nothing listens at the URI.
fn spooled_events(env: &str, spool: &Path) {
    let dead = format!("mongodb://127.0.0.1:{}/", common::free_port());
    let panoptic = Panoptic::builder()
        .username("cli user")
        .env(env)
        .mongodb_uri(dead)
        .spool_dir(spool)
        .server_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let bq = panoptic.logger(Provider::Gcp, "BigQuery");
    let run = panoptic.logger(Provider::Gcp, "CloudRun");
    for i in 0..30 {
        panoptic::invoice!(bq, "daily_report"; "amount" => "0.25", "duration_ms" => f64::from(i));
    }
    for i in 0..10 {
        panoptic::invoice!(run, "render"; "amount" => "0.1", "outcome" => if i < 2 { "error" } else { "ok" });
    }
    // No amount: unpriced, in a column of their own, never a silent 0.
    for _ in 0..3 {
        panoptic::invoice!(bq, "adhoc_export");
    }
    assert!(panoptic.flush());
    assert_eq!(panoptic.stats().spooled, 43);
}

#[test]
fn report_stats_replay_export_and_indexes() {
    let env = common::unique_env("cli");
    let spool = common::temp_dir("cli");
    spooled_events(&env, &spool);
    let dead = format!("mongodb://127.0.0.1:{}/", common::free_port());

    // From the spool (MongoDB does not answer): JSON, CSV, table.
    let output = panoptic(
        &[
            "report",
            "--env",
            &env,
            "--by",
            "service",
            "--format",
            "json",
            "--timeout",
            "1",
        ],
        &dead,
        &spool,
    );
    assert!(
        text(&output.stderr).contains("reading the spool"),
        "{}",
        text(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(&succeed(output)).unwrap();
    let rows = &report["rows"];
    assert_eq!(rows[0]["service"], "BigQuery");
    assert_eq!(rows[0]["currency"], "USD");
    assert_eq!(rows[0]["amount"], "7.5");
    assert_eq!(rows[0]["count"], 33);
    assert_eq!(rows[0]["unpriced"], 3);
    assert_eq!(rows[1]["service"], "CloudRun");
    assert_eq!(rows[1]["errors"], 2);
    // One total per currency, saying what it leaves out.
    assert_eq!(report["totals"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(report["totals"][0]["amount"], "8.5");
    assert_eq!(report["totals"][0]["unpriced"], 3);
    assert_eq!(report["totals"][0]["count"], 43);
    let csv_by_resource = |env: &str, spool_only: bool| {
        let mut args = vec!["report", "--env", env];
        if spool_only {
            args.push("--spool");
        }
        args.extend(["--by", "resource,service", "--format", "csv"]);
        args.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let args = csv_by_resource(&env, true);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let csv = succeed(panoptic(&args, &dead, &spool));
    let lines: Vec<_> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "resource,service,currency,amount,adjusted,unpriced,quantity,count,errors,p50_ms,p95_ms"
    );
    let cells: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(
        cells[..9],
        [
            "daily_report",
            "BigQuery",
            "USD",
            "7.5",
            "0",
            "0",
            "30",
            "30",
            "0"
        ]
    );
    let unpriced = lines
        .iter()
        .find(|l| l.starts_with("adhoc_export,"))
        .unwrap();
    assert!(
        unpriced.starts_with("adhoc_export,BigQuery,USD,,0,3,3,3,0"),
        "all unpriced: no amount, never a 0: {unpriced}"
    );
    assert_eq!(lines.last().unwrap(), &"total,,USD,8.5,0,3,,43,2,,");
    // p50 and p95 of 0..29 ms are 14 and 28, read off 2 %-wide buckets.
    for (cell, exact) in [(cells[9], 14.0), (cells[10], 28.0)] {
        let value: f64 = cell.parse().unwrap();
        assert!((value / exact - 1.0).abs() < 0.01, "{cell} vs {exact}");
    }
    let table = succeed(panoptic(
        &["report", "--spool", "--env", &env],
        &dead,
        &spool,
    ));
    assert!(
        table.lines().next().unwrap().starts_with("service"),
        "{table}"
    );
    assert!(table.contains("CloudRun"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l == "total  8.5 USD  (3 calls unpriced, not counted)"),
        "{table}"
    );

    let stats = succeed(panoptic(&["stats"], &dead, &spool));
    assert!(stats.contains("events     43"), "{stats}");

    // Replay into the test database, then report from MongoDB.
    let uri = common::mongodb_uri();
    let output = panoptic(&["replay"], &uri, &spool);
    succeed(output);
    assert_eq!(panoptic::Spool::open(&spool).summary().unwrap().events, 0);
    let args = csv_by_resource(&env, false);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let from_mongodb = succeed(panoptic(&args, &uri, &spool));
    assert_eq!(
        from_mongodb, csv,
        "same report from MongoDB as from the spool"
    );

    let jsonl = succeed(panoptic(
        &["export", "--env", &env, "--format", "jsonl"],
        &uri,
        &spool,
    ));
    assert_eq!(jsonl.lines().count(), 43);
    for line in jsonl.lines() {
        let event: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(event["username"], "cli user");
        if event["resource"] == "adhoc_export" {
            assert!(event.get("amount").is_none(), "{line}");
            assert_eq!(event["metadata"]["unpriced"], "no amount given", "{line}");
        } else {
            assert!(event["amount"]["$numberDecimal"].is_string(), "{line}");
        }
    }
    let file = spool.join("export.csv");
    succeed(panoptic(
        &[
            "export",
            "--env",
            &env,
            "--format",
            "csv",
            "--output",
            file.to_str().unwrap(),
        ],
        &uri,
        &spool,
    ));
    let exported = std::fs::read_to_string(&file).unwrap();
    assert_eq!(exported.lines().count(), 44, "header + 43 events");
    assert!(exported.starts_with("_id,ts,env,username"));

    let indexes = succeed(panoptic(&["indexes"], &uri, &spool));
    assert!(
        indexes.contains(&format!("panoptic-{env}.gcp_cli_user: ok (7 indexes)")),
        "{indexes}"
    );
}

#[test]
fn errors_are_one_line_and_a_non_zero_exit() {
    let spool = common::temp_dir("cli-errors");
    let dead = format!("mongodb://127.0.0.1:{}/", common::free_port());
    for args in [
        vec!["report", "--since", "last tuesday"],
        vec!["report", "--by", "weekday"],
        vec!["indexes", "--timeout", "1"],
    ] {
        let output = panoptic(&args, &dead, &spool);
        assert!(!output.status.success(), "{args:?} should fail");
        let stderr = text(&output.stderr);
        assert!(
            !stderr.contains("panicked") && !stderr.contains("backtrace"),
            "{stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("panoptic: "), "{args:?}: {stderr}");
    }
    spooled_events(&common::unique_env("cli-errors"), &spool);
    let output = panoptic(&["replay", "--timeout", "1"], &dead, &spool);
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("panoptic: MongoDB at"), "{stderr}");
}

/// `panoptic stats` lists set-aside segments with their reason and the
/// dead letters; `panoptic replay --retry-set-aside` puts the segments back.
#[test]
fn stats_lists_what_was_set_aside_and_replay_retries_it() {
    let spool = common::temp_dir("cli-aside");
    std::fs::write(spool.join("000000000000001-junk.seg"), b"not a segment").unwrap();
    // A handle on a live server replays the folder and sets the junk aside.
    let uri = common::mongodb_uri();
    let handle = Panoptic::builder()
        .username("cli user")
        .env(common::unique_env("cli-aside"))
        .mongodb_uri(&uri)
        .spool_dir(&spool)
        .build()
        .unwrap();
    assert!(handle.flush());
    assert_eq!(handle.stats().set_aside, 1, "{:?}", handle.stats());
    drop(handle);

    let stats = succeed(panoptic(&["stats"], &uri, &spool));
    assert!(stats.contains("set aside  1"), "{stats}");
    assert!(stats.contains("not a spool segment"), "{stats}");
    assert!(stats.contains("dead letters 0"), "{stats}");

    let output = panoptic(&["replay", "--retry-set-aside"], &uri, &spool);
    let stderr = text(&output.stderr);
    succeed(output);
    assert!(
        stderr.contains("1 set-aside segment(s) put back"),
        "{stderr}"
    );
    assert!(spool.join("000000000000001-junk.seg").exists());
}

/// With MongoDB down, every command says so in one line of its own: never
/// the driver's dump of the topology, never a line without the prefix.
#[test]
fn mongodb_down_is_one_line_in_every_command() {
    let env = common::unique_env("cli-down");
    let spool = common::temp_dir("cli-down");
    spooled_events(&env, &spool);
    let dead = format!("mongodb://127.0.0.1:{}/", common::free_port());
    let failing: [&[&str]; 6] = [
        &["indexes"],
        &["replay"],
        &["budgets", "list"],
        &["budgets", "set", "daily", "--limit", "5", "--period", "day"],
        &[
            "reconcile",
            "--provider",
            "mongodb_atlas",
            "--atlas-tier",
            "M10",
            "--since",
            "2d",
        ],
        &["reconcile", "--provider", "openai", "--env", &env],
    ];
    for args in failing {
        let mut args = args.to_vec();
        args.extend(["--timeout", "1"]);
        let output = panoptic(&args, &dead, &spool);
        let stderr = text(&output.stderr);
        assert!(!output.status.success(), "{args:?} should fail: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("panoptic: ") && stderr.contains("did not answer"),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("Topology"), "{args:?}: {stderr}");
    }
    // These read the spool instead, and say why in one line.
    for args in [
        vec!["report", "--env", &env, "--timeout", "1"],
        vec!["export", "--env", &env, "--timeout", "1"],
    ] {
        let output = panoptic(&args, &dead, &spool);
        let stderr = text(&output.stderr);
        assert!(output.status.success(), "{args:?}: {stderr}");
        assert_eq!(
            stderr
                .lines()
                .filter(|l| l.contains("did not answer"))
                .count(),
            1,
            "{args:?}: {stderr}"
        );
        assert!(
            stderr.lines().all(|l| l.starts_with("panoptic: ")),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("Topology"), "{args:?}: {stderr}");
    }
}
