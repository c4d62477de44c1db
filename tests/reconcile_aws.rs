//! `panoptic reconcile --provider aws` end to end against a local fake of
//! AWS Cost Explorer's `GetCostAndUsage`: its exact JSON shape
//! (`GroupDefinitions`, `ResultsByTime` with `TimePeriod`, `Total`,
//! `Groups` of `Keys` and `Metrics`, `Estimated`, `NextPageToken`), two
//! pages, grouped by service and by the `panoptic_resource` tag. The fake
//! checks what panoptic builds — `X-Amz-Target`, the content type, the
//! credential scope (us-east-1, `ce`), the body — and recomputes the
//! SigV4 signature from fixed test keys with code of its own
//! (`common::sigv4_check`), refusing a wrong one as AWS does (HTTP 403,
//! `InvalidSignatureException`).
//!
//! The bill is worked out here from the calls the test made and the
//! public S3 list prices written below, never from panoptic's tables.
#![cfg(all(feature = "cli", feature = "aws-bill"))]

mod common;

use std::str::FromStr;
use std::sync::Mutex;

use chrono::{Days, NaiveDate, Utc};
use common::sigv4_check::{Authorization, expected_signature, signing_key};
use panoptic::prices::aws::{self, S3RequestClass};
use panoptic::{Decimal, billable};
use serde_json::{Value as Json, json};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const ACCESS_KEY: &str = "AKIDPANOPTICTEST";
const SECRET: &str = "panoptic/test/secret+key";
const TAG: &str = "panoptic_resource";
const UPLOADS: u64 = 3;
const PUTS_PER_UPLOAD: u64 = 2_000;
const GETS: u64 = 10_000;

/// `#[billable]` uses the global instance: one workload at a time.
static INSTALL: Mutex<()> = Mutex::new(());

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

#[billable(provider = "aws", service = "S3", usage = aws::s3_requests(S3RequestClass::PutCopyPostList, PUTS_PER_UPLOAD))]
fn upload_thumbnails() {}

#[billable(provider = "aws", service = "S3", usage = aws::s3_requests(S3RequestClass::GetAndOther, GETS))]
fn read_thumbnails() {}

/// S3 Standard, us-east-1, public list prices: PUT, COPY, POST, LIST
/// $0.005 per 1,000 requests; GET and others $0.0004 per 1,000.
fn s3_requests(count: u64, per_thousand: &str) -> Decimal {
    Decimal::from(count) * dec(per_thousand) / Decimal::from(1_000)
}

fn metric(amount: Decimal) -> Json {
    json!({ "Amount": amount.to_string(), "Unit": "USD" })
}

fn group(service: &str, resource: &str, list: Decimal, net: Decimal) -> Json {
    json!({
        "Keys": [service, format!("{TAG}${resource}")],
        "Metrics": { "UnblendedCost": metric(list), "NetUnblendedCost": metric(net) },
    })
}

fn by_time(day: NaiveDate, groups: Vec<Json>, estimated: bool) -> Json {
    json!({
        "TimePeriod": { "Start": day.to_string(), "End": (day + Days::new(1)).to_string() },
        "Total": {},
        "Groups": groups,
        "Estimated": estimated,
    })
}

/// The fake Cost Explorer: checks each request, then answers page one
/// (yesterday, with a `NextPageToken`) or page two (today, estimated).
struct CostExplorer {
    pages: [Json; 2],
    start: NaiveDate,
    end: NaiveDate,
}

fn refuse(status: u16, kind: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("content-type", "application/x-amz-json-1.1")
        .set_body_json(json!({ "__type": kind, "message": message }))
}

impl Respond for CostExplorer {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let headers: Vec<(String, String)> = request
            .headers
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
            .collect();
        let header = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        if header("x-amz-target") != Some("AWSInsightsIndexService.GetCostAndUsage")
            || header("content-type") != Some("application/x-amz-json-1.1")
        {
            return refuse(400, "UnknownOperationException", "wrong target or type");
        }
        let Some(auth) = header("authorization").and_then(Authorization::parse) else {
            return refuse(403, "MissingAuthenticationTokenException", "no signature");
        };
        let scope_ends = auth.scope.ends_with("/us-east-1/ce/aws4_request");
        let expected = expected_signature(
            request.method.as_str(),
            request.url.path(),
            &headers,
            &request.body,
            &auth,
            SECRET,
        );
        if auth.access_key != ACCESS_KEY
            || !scope_ends
            || !auth.signed_headers.iter().any(|h| h == "x-amz-target")
            || expected.as_deref() != Some(auth.signature.as_str())
        {
            return refuse(
                403,
                "InvalidSignatureException",
                "The request signature we calculated does not match the signature you provided.",
            );
        }
        let body: Json = serde_json::from_slice(&request.body).unwrap_or_default();
        let asked = json!({
            "TimePeriod": { "Start": self.start.to_string(), "End": self.end.to_string() },
            "Granularity": "DAILY",
            "GroupBy": [{ "Type": "DIMENSION", "Key": "SERVICE" }, { "Type": "TAG", "Key": TAG }],
        });
        let metrics = body["Metrics"].as_array().cloned().unwrap_or_default();
        if ["TimePeriod", "Granularity", "GroupBy"]
            .iter()
            .any(|k| body[k] != asked[k])
            || !metrics.contains(&json!("UnblendedCost"))
            || !metrics.contains(&json!("NetUnblendedCost"))
        {
            return refuse(
                400,
                "ValidationException",
                &format!("unexpected body {body}"),
            );
        }
        let page = match body["NextPageToken"].as_str() {
            None => 0,
            Some("page-2") => 1,
            Some(_) => return refuse(400, "InvalidNextTokenException", "bad token"),
        };
        ResponseTemplate::new(200)
            .insert_header("content-type", "application/x-amz-json-1.1")
            .set_body_json(&self.pages[page])
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cost_explorer_signed_paged_and_estimated_days_left_alone() {
    let env = common::unique_env("recon_aws_ce");
    {
        let _one = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
        let guard = common::builder(&env).install().unwrap();
        for _ in 0..UPLOADS {
            upload_thumbnails();
        }
        read_thumbnails();
        assert!(guard.flush());
    }
    let today = Utc::now().date_naive();
    let yesterday = today - Days::new(1);
    let closed_day = today - Days::new(2);
    let puts = s3_requests(UPLOADS * PUTS_PER_UPLOAD, "0.005");
    let gets = s3_requests(GETS, "0.0004");
    // Two days ago: a listing made by a script panoptic never saw, in the
    // untagged group, with a $0.05 credit; closed. Yesterday: the script
    // again, not final (`Estimated`, as Cost Explorer marks the days of a
    // month not closed). Today: the calls as AWS bills them, not final.
    let script = dec("0.20");
    let script_today = dec("0.02");
    let pages = [
        json!({
            "GroupDefinitions": [
                { "Type": "DIMENSION", "Key": "SERVICE" },
                { "Type": "TAG", "Key": TAG },
            ],
            "ResultsByTime": [
                by_time(
                    closed_day,
                    vec![group("Amazon Simple Storage Service", "", script, script - dec("0.05"))],
                    false,
                ),
                by_time(
                    yesterday,
                    vec![group("Amazon Simple Storage Service", "", script_today, script_today)],
                    true,
                ),
            ],
            "DimensionValueAttributes": [],
            "NextPageToken": "page-2",
        }),
        json!({
            "GroupDefinitions": [
                { "Type": "DIMENSION", "Key": "SERVICE" },
                { "Type": "TAG", "Key": TAG },
            ],
            "ResultsByTime": [by_time(
                today,
                vec![
                    group("Amazon Simple Storage Service", "upload_thumbnails", puts, puts),
                    group("Amazon Simple Storage Service", "read_thumbnails", gets, gets),
                ],
                true,
            )],
            "DimensionValueAttributes": [],
        }),
    ];
    let fake = MockServer::start().await;
    Mock::given(wiremock::matchers::method("POST"))
        .and(wiremock::matchers::path("/"))
        .respond_with(CostExplorer {
            pages,
            start: closed_day,
            end: today + Days::new(1),
        })
        .mount(&fake)
        .await;
    let run = |secret: &str| {
        common::reconcile_cli::command(&env)
            .args([
                "--provider",
                "aws",
                "--aws-endpoint",
                &format!("{}/", fake.uri()),
            ])
            .args(["--since", &closed_day.to_string()])
            .args([
                "--by",
                "day,service,resource",
                "--late-days",
                "0",
                "--apply",
            ])
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", secret)
            .env_remove("AWS_SESSION_TOKEN")
            .output()
            .unwrap()
    };

    // A wrong key: refused by the fake's own check, said in one error.
    let refused = run("not-the-secret");
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("403") && stderr.contains("InvalidSignatureException"),
        "{stderr}"
    );

    let output = run(SECRET);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("4 bill line(s) from aws"), "{stderr}");
    let asked = fake.received_requests().await.unwrap();
    // One refused, then both pages.
    assert_eq!(asked.len(), 3);
    let rows = common::reconcile_cli::rows(&output);
    let row = |day: NaiveDate, resource: &str| {
        rows.iter()
            .find(|r| r["day"] == day.to_string() && r["resource"] == resource)
            .unwrap_or_else(|| panic!("no row {day} {resource}: {rows:#?}"))
    };
    let codes = |row: &Json| -> Vec<String> {
        row["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["code"].as_str().unwrap().to_owned())
            .collect()
    };
    // Today by tagged resource: estimate and bill within 1 %.
    for (resource, billed) in [("upload_thumbnails", puts), ("read_thumbnails", gets)] {
        let today_row = row(today, resource);
        assert_eq!(today_row["service"], "S3");
        let estimate = dec(today_row["estimate"].as_str().unwrap());
        let bill = dec(today_row["list"].as_str().unwrap());
        assert_eq!(bill, billed);
        assert!(
            ((estimate - bill) / bill).abs() <= dec("0.01"),
            "{resource}: {estimate} vs {bill}"
        );
    }
    // Yesterday's difference is late data (Cost Explorer says estimated),
    // though `--late-days 0` makes only today late by age; not booked.
    let open = row(yesterday, "(none)");
    assert!(codes(open).contains(&"late_data".to_owned()), "{open}");
    assert!(
        open.to_string().contains("marks this day estimated"),
        "{open}"
    );
    // Two days ago: closed, untagged, not panoptic's: booked.
    let closed = row(closed_day, "(none)");
    assert_eq!(dec(closed["list"].as_str().unwrap()), script);
    assert!(!codes(closed).contains(&"late_data".to_owned()), "{closed}");
    let booked = common::adjustment_events(&env).await;
    assert!(!booked.is_empty(), "{stderr}");
    for adjustment in &booked {
        assert_eq!(
            adjustment.ts.date_naive(),
            closed_day,
            "only the closed day is booked: {adjustment:?}"
        );
    }
    let amount: Decimal = booked.iter().filter_map(|e| e.amount).sum();
    assert_eq!(amount, script);
    assert!(stderr.contains("left alone"), "{stderr}");
}

/// The fake's own SigV4 derives keys as AWS documents: the signing key of
/// the documentation's example (secret
/// `wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY`, 20150830, us-east-1, iam).
#[test]
fn the_fakes_signing_key_is_derived_as_documented() {
    let key = signing_key(
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        "20150830",
        "us-east-1",
        "iam",
    );
    assert_eq!(
        hex::encode(key),
        "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
    );
}
