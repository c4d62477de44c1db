//! `panoptic report --html`: a self-contained page, rendered by a real
//! browser (headless Chromium from Debian's packages; scripts/test installs
//! it) without console errors.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{Duration, Utc};
use panoptic::{BillingEvent, Metadata};

fn event(days_ago: i64, service: &str, resource: &str, amount: &str) -> BillingEvent {
    BillingEvent {
        username: "html user".into(),
        metadata: Metadata {
            duration_ms: Some(12.5),
            ..Metadata::default()
        },
        ..common::stored_invoice(
            ("gcp", service, resource),
            amount.parse().unwrap(),
            Utc::now() - Duration::days(days_ago),
        )
    }
}

fn browser() -> PathBuf {
    let path = std::env::var("PANOPTIC_CHROMIUM")
        .map_or_else(|_| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    assert!(
        path.exists(),
        "{} not found: install Debian's chromium (scripts/test does) or set PANOPTIC_CHROMIUM",
        path.display()
    );
    path
}

fn chromium(page: &Path, extra: &[&str]) -> std::process::Output {
    let profile = common::temp_dir("chromium-profile");
    Command::new(browser())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn html_report_renders_in_a_real_browser() {
    let env = common::unique_env("html");
    let mut events = Vec::new();
    for day in 0..4 {
        events.push(event(day, "BigQuery", "daily_report", "1.25"));
        events.push(event(day, "CloudRun", "render", "0.40"));
        if day % 2 == 0 {
            events.push(event(day, "CloudStorage", "archive", "0.05"));
        }
    }
    let documents: Vec<_> = events
        .iter_mut()
        .map(|e| {
            e.env = env.clone();
            e.to_document()
        })
        .collect();
    common::client()
        .await
        .database(&panoptic::naming::database_name(&env))
        .collection::<bson::Document>("gcp_html_user")
        .insert_many(documents)
        .await
        .unwrap();

    let dir = common::temp_dir("html");
    let page = dir.join("report.html");
    let output = Command::new(env!("CARGO_BIN_EXE_panoptic"))
        .args([
            "report",
            "--env",
            &env,
            "--since",
            "10d",
            "--html",
            page.to_str().unwrap(),
        ])
        .env("MONGODB_URI", common::mongodb_uri())
        .env("PANOPTIC_SPOOL_DIR", dir.join("spool"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains(
            "<p class=\"total\" data-currency=\"USD\">Total: <strong>6.7 USD</strong> \
             <span class=\"unpriced\">(all 10 calls priced)</span>"
        ),
        "4 x 1.25 + 4 x 0.40 + 2 x 0.05, every call priced"
    );
    assert_eq!(
        html.matches("<rect class=\"bar\"").count(),
        10,
        "one segment per day and service"
    );
    assert!(
        html.contains("<td>daily_report</td><td>BigQuery</td><td>USD</td><td class=\"n\">5</td>")
    );
    // Self-contained: nothing to fetch.
    let outside: Vec<_> = html
        .match_indices("http")
        .map(|(i, _)| &html[i..i + 30])
        .collect();
    assert!(
        outside
            .iter()
            .all(|u| u.starts_with("http://www.w3.org/2000/svg")),
        "{outside:?}"
    );

    let rendered = chromium(&page, &["--dump-dom"]);
    let dom = String::from_utf8_lossy(&rendered.stdout);
    let log = String::from_utf8_lossy(&rendered.stderr);
    assert!(rendered.status.success(), "{log}");
    assert_eq!(
        dom.matches("class=\"bar\"").count(),
        10,
        "the browser's DOM has every bar:\n{dom}"
    );
    assert!(dom.contains("id=\"top-resources\""));
    for line in log.lines() {
        assert!(
            !line.contains("CONSOLE")
                && !line.contains("Uncaught")
                && !line.contains("Failed to load"),
            "console error: {line}"
        );
    }
    let screenshot = dir.join("report.png");
    let shot = chromium(
        &page,
        &[
            &format!("--screenshot={}", screenshot.display()),
            "--window-size=900,700",
        ],
    );
    assert!(
        shot.status.success(),
        "{}",
        String::from_utf8_lossy(&shot.stderr)
    );
    let png = std::fs::read(&screenshot).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    println!("screenshot: {}", screenshot.display());
}
