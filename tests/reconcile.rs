//! `panoptic reconcile`: a workload of real `#[billable]` calls stored in
//! the test database, beside a bill that a local fake serves. The bill is
//! worked out here from the workload's raw usage and the public list
//! prices written below, never from panoptic's events or price book.

mod common;

use std::process::Output;
use std::str::FromStr;
use std::sync::Mutex;

use async_openai::types::chat::CreateChatCompletionResponse;
use chrono::{Days, NaiveDate, Utc};
use common::reconcile_cli::rows;
use panoptic::prices::aws::{self, S3RequestClass};
use panoptic::query::{CostQuery, GroupBy};
use panoptic::reconcile::{ApplySummary, Basis, BillLine, Fallback, Reconciliation};
use panoptic::{Decimal, Kind, billable};
use serde_json::json;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// `#[billable]` uses the global instance: one workload at a time.
static INSTALL: Mutex<()> = Mutex::new(());

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

/// A chat completion as OpenAI returns it.
fn chat(prompt: u32, cached: u32, completion: u32) -> CreateChatCompletionResponse {
    serde_json::from_value(json!({
        "id": "chatcmpl-recon", "object": "chat.completion", "created": 1741569952,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{ "index": 0, "finish_reason": "stop", "logprobs": null,
            "message": { "role": "assistant", "content": "ok", "refusal": null, "annotations": [] } }],
        "usage": { "prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": { "cached_tokens": cached, "audio_tokens": 0 },
            "completion_tokens_details": { "reasoning_tokens": 0, "audio_tokens": 0,
                "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0 } }
    }))
    .unwrap()
}

#[billable(provider = "openai", service = "ChatCompletions")]
fn summarize(prompt: u32, cached: u32, completion: u32) -> CreateChatCompletionResponse {
    chat(prompt, cached, completion)
}

#[billable(provider = "openai", service = "ChatCompletions")]
fn classify(prompt: u32) -> CreateChatCompletionResponse {
    chat(prompt, 0, 10)
}

/// gpt-4o-mini list prices, USD per 1M tokens: input 0.15, cached input
/// 0.075, output 0.60.
fn gpt_4o_mini_bill(prompt: u32, cached: u32, completion: u32) -> Decimal {
    let per_million =
        |tokens: u32, price: &str| Decimal::from(tokens) * dec(price) / dec("1000000");
    per_million(prompt - cached, "0.15")
        + per_million(cached, "0.075")
        + per_million(completion, "0.60")
}

/// Runs the OpenAI workload in `env`; returns what it used, per call.
fn openai_workload(env: &str) -> Vec<(u32, u32, u32)> {
    let _one = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    let guard = common::builder(env).install().unwrap();
    let mut usage = Vec::new();
    for i in 0..6u32 {
        let (p, c, o) = (1_000 + 100 * i, 200, 300 + 50 * i);
        summarize(p, c, o);
        usage.push((p, c, o));
    }
    for i in 0..4u32 {
        classify(2_000 * (i + 1));
        usage.push((2_000 * (i + 1), 0, 10));
    }
    assert!(guard.flush());
    usage
}

/// The Costs API's page for these `(day, line item, amount)`s, numbers
/// written as decimals (the API's JSON numbers).
fn costs_page(buckets: &[(NaiveDate, Vec<(&str, Decimal)>)]) -> String {
    let data: Vec<String> = buckets
        .iter()
        .map(|(day, items)| {
            let start = day.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp();
            let results: Vec<String> = items
                .iter()
                .map(|(item, amount)| {
                    format!(
                        r#"{{"object":"organization.costs.result","amount":{{"value":{amount},"currency":"usd"}},"line_item":"{item}","project_id":null}}"#
                    )
                })
                .collect();
            format!(
                r#"{{"object":"bucket","start_time":{start},"end_time":{},"results":[{}]}}"#,
                start + 86_400,
                results.join(",")
            )
        })
        .collect();
    format!(
        r#"{{"object":"page","data":[{}],"has_more":false,"next_page":null}}"#,
        data.join(",")
    )
}

async fn fake_openai(page: String) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/organization/costs"))
        .and(header("authorization", "Bearer sk-admin-test"))
        .and(query_param("bucket_width", "1d"))
        .and(query_param("group_by", "line_item"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(page, "application/json"))
        .mount(&server)
        .await;
    server
}

fn reconcile(env: &str, fake: &MockServer, extra: &[&str]) -> Output {
    let base = format!("{}/v1/", fake.uri());
    common::reconcile_cli::command(env)
        .args(["--provider", "openai", "--since", "3d", "--by", "day"])
        .args(["--openai-base-url", &base, "--min-difference", "0"])
        .args(extra)
        .env("OPENAI_ADMIN_KEY", "sk-admin-test")
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_estimates_meet_the_costs_api_and_gaps_are_explained_and_applied() {
    let env = common::unique_env("recon_openai");
    let usage = openai_workload(&env);
    let today = Utc::now().date_naive();
    let yesterday = today - Days::new(1);
    // The bill, from raw usage: input and output line items, rounded to
    // the cent's hundredth as invoices do.
    let input: Decimal = usage
        .iter()
        .map(|(p, c, _)| gpt_4o_mini_bill(*p, *c, 0))
        .sum();
    let output: Decimal = usage
        .iter()
        .map(|(_, _, o)| gpt_4o_mini_bill(0, 0, *o))
        .sum();
    let billed = (input + output).round_dp(6);
    let fake = fake_openai(costs_page(&[(
        today,
        vec![
            ("gpt-4o-mini-2024-07-18, input", input.round_dp(6)),
            ("gpt-4o-mini-2024-07-18, output", output.round_dp(6)),
        ],
    )]))
    .await;

    // 1. They agree within 1 %, and a 1 % gate passes.
    let out = reconcile(&env, &fake, &["--fail-over", "1%"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first_rows = rows(&out);
    let row = first_rows
        .iter()
        .find(|r| r["day"] == today.to_string())
        .unwrap();
    assert_eq!(row["calls"], 10, "{row}");
    let estimate = dec(row["estimate"].as_str().unwrap());
    let ratio = dec(row["ratio"].as_str().unwrap());
    assert_eq!(dec(row["list"].as_str().unwrap()), billed);
    assert!((ratio - Decimal::ONE).abs() <= dec("0.01"), "{row}");
    assert!((billed - estimate).abs() <= estimate / dec("100"), "{row}");
    assert_eq!(row["flagged"], false, "{row}");
    assert_eq!(row["details"].as_object().unwrap().len(), 2, "{row}");

    // 2. Calls made outside panoptic (a day with none of its calls) are
    //    billed, explained, and fail a 5 % gate.
    let outside = dec("0.4200");
    let fake = fake_openai(costs_page(&[
        (yesterday, vec![("gpt-4o-2024-08-06, input", outside)]),
        (
            today,
            vec![
                ("gpt-4o-mini-2024-07-18, input", input.round_dp(6)),
                ("gpt-4o-mini-2024-07-18, output", output.round_dp(6)),
            ],
        ),
    ]))
    .await;
    let out = reconcile(&env, &fake, &["--fail-over", "5%"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("differ from the bill by more than 5%"),
        "{stderr}"
    );
    assert!(stderr.contains(&yesterday.to_string()), "{stderr}");
    let gap_rows = rows(&out);
    let gap = gap_rows
        .iter()
        .find(|r| r["day"] == yesterday.to_string())
        .unwrap();
    assert_eq!(gap["flagged"], true);
    assert_eq!(gap["reasons"][0]["code"], "not_estimated", "{gap}");
    assert_eq!(dec(gap["difference"].as_str().unwrap()), outside);

    // 3. --apply books each day's difference as adjustments, exactly (these
    //    days' bills may still change: booked only when asked); a second
    //    run writes nothing new.
    let out = reconcile(&env, &fake, &["--apply", "--include-late"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let total_difference: Decimal = rows(&out)
        .iter()
        .filter(|r| r["day"] != "total")
        .map(|r| dec(r["difference"].as_str().unwrap()))
        .sum();
    let adjustments = common::adjustment_events(&env).await;
    let sum: Decimal = adjustments.iter().filter_map(|e| e.amount).sum();
    assert_eq!(sum, total_difference);
    assert_eq!(sum.round_dp(2), (outside + billed - estimate).round_dp(2));
    let again = reconcile(&env, &fake, &["--apply", "--include-late"]);
    common::reconcile_cli::assert_applied_once(&again, &env, &adjustments).await;
    // Reports keep estimate and allocation apart: nothing summed twice.
    let report = CostQuery::new()
        .env(&env)
        .provider("openai")
        .run(&common::client().await)
        .await
        .unwrap();
    assert_eq!(report[0].amount, estimate);
    assert_eq!(report[0].adjusted, sum);
    // After --apply the estimate plus the allocation is the bill.
    let out = reconcile(&env, &fake, &[]);
    let today_row = rows(&out)
        .into_iter()
        .find(|r| r["day"] == today.to_string())
        .unwrap();
    assert_eq!(
        dec(today_row["estimate"].as_str().unwrap()) + dec(today_row["adjusted"].as_str().unwrap()),
        billed
    );
}

#[billable(provider = "aws", service = "S3", usage = aws::s3_requests(S3RequestClass::PutCopyPostList, 2_000))]
fn upload_thumbnails() {}

#[billable(provider = "aws", service = "S3", usage = aws::s3_requests(S3RequestClass::GetAndOther, 10_000))]
fn read_thumbnails() {}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_differences_spread_over_resources_by_share_to_the_cent() {
    let env = common::unique_env("recon_aws");
    {
        let _one = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
        let guard = common::builder(&env).install().unwrap();
        for _ in 0..3 {
            upload_thumbnails();
        }
        read_thumbnails();
        assert!(guard.flush());
    }
    let today = Utc::now().date_naive();
    // S3 us-east-1 list prices: PUT/COPY/POST/LIST $0.005 per 1,000,
    // GET $0.0004 per 1,000.
    let puts = Decimal::from(3 * 2_000) * dec("0.005") / dec("1000");
    let gets = Decimal::from(10_000) * dec("0.0004") / dec("1000");
    // The bill has the same usage plus a bucket listing made by a script
    // panoptic never saw ($0.50), and a $0.10 promotional credit.
    let untagged = dec("0.50");
    let bill = [
        BillLine::new("aws", today, puts, puts).service("S3"),
        BillLine::new("aws", today, gets, gets).service("S3"),
        BillLine::new("aws", today, untagged, untagged - dec("0.10")).service("S3"),
    ];
    // Today's bill may still change: booked all the same.
    let recon = Reconciliation::new("aws", today, today + Days::new(1))
        .by([GroupBy::Service])
        .unwrap()
        .include_late(true);
    let client = common::client().await;
    let base = CostQuery::new().env(&env);
    let report = recon.run(&client, &base, &bill).await.unwrap();
    let row = &report.rows[0];
    assert_eq!(row.estimate, puts + gets);
    assert_eq!(row.difference, untagged);
    assert!(row.flagged);
    assert!(
        row.reasons.iter().any(|r| r.code() == "credits"),
        "{:?}",
        row.reasons
    );
    // On the net basis the credit lowers the difference.
    let net = recon.clone().basis(Basis::Net);
    let net_report = net.run(&client, &base, &bill).await.unwrap();
    assert_eq!(net_report.rows[0].difference, untagged - dec("0.10"));

    let shares = recon.shares(&client, &base).await.unwrap();
    let adjustments = recon.adjustments(&report, &shares, &Fallback::default());
    let by_resource = |name: &str| {
        adjustments
            .iter()
            .find(|e| e.resource == name)
            .and_then(|e| e.amount)
            .unwrap()
    };
    // Split by estimated share: puts 0.03, gets 0.004 of 0.034.
    assert_eq!(
        by_resource("upload_thumbnails") + by_resource("read_thumbnails"),
        untagged
    );
    assert_eq!(
        by_resource("upload_thumbnails").round_dp(6),
        (untagged * puts / (puts + gets)).round_dp(6)
    );
    let first = recon.apply(&client, &adjustments).await.unwrap();
    assert_eq!(first.written, 2);
    let second = recon.apply(&client, &adjustments).await.unwrap();
    assert_eq!((second.written, second.unchanged), (0, 2));
    // A run limited to another environment, which makes no adjustment,
    // leaves this environment's adjustments of the same days alone, and
    // refuses to write one of them.
    let elsewhere = recon.clone().env(common::unique_env("recon_aws_other"));
    let other = elsewhere.apply(&client, &[]).await.unwrap();
    assert_eq!(other, ApplySummary::default());
    assert!(elsewhere.apply(&client, &adjustments).await.is_err());
    let report = CostQuery::new()
        .env(&env)
        .provider("aws")
        .group_by([GroupBy::Resource])
        .run(&client)
        .await
        .unwrap();
    let adjusted: Decimal = report.iter().map(|r| r.adjusted).sum();
    assert_eq!(adjusted, untagged);
    let amount: Decimal = report.iter().map(|r| r.amount).sum();
    assert_eq!(amount, puts + gets);
}

#[test]
fn days_follow_the_bills_time_zone() {
    use panoptic::{BillingEvent, Category, Metadata, Outcome};
    // 2026-11-02 05:00 UTC is still 2026-11-01 in Los Angeles.
    let event = BillingEvent {
        id: bson::oid::ObjectId::new(),
        ts: "2026-11-02T05:00:00Z".parse().unwrap(),
        project_id: None,
        env: "prod".into(),
        username: "ann".into(),
        category: Category::Infra,
        provider: "gcp".into(),
        service: "BigQuery".into(),
        resource: "r".into(),
        kind: Kind::Invoice,
        outcome: Outcome::Ok,
        quantity: 1.0,
        unit: "bytes".into(),
        amount: Some(dec("1")),
        currency: "USD".into(),
        metadata: Metadata::default(),
    };
    let query = CostQuery::new().group_by([GroupBy::Day]);
    assert_eq!(query.run_on_events([&event])[0].key, ["2026-11-02"]);
    let pacific = query.time_zone(panoptic::query::Tz::America__Los_Angeles);
    assert_eq!(pacific.run_on_events([&event])[0].key, ["2026-11-01"]);
}
