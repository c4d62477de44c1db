//! Budget estimates computed from the arguments, against the real test
//! database: a BigQuery query's dry run (a wiremock fake of the REST API)
//! and a chat completion request's prompt and token cap; and start records
//! written by default for every call. Expected figures are worked out by
//! hand from the list prices written here.
#![cfg(all(feature = "gcp", feature = "openai", feature = "cli"))]

mod common;

use std::future::Future;
use std::str::FromStr;

use async_openai::types::chat::{CreateChatCompletionRequest, CreateChatCompletionResponse};
use common::fake_bigquery::{self, column, query_reply, row};
use panoptic::budget::{Budget, Mode, Period};
use panoptic::gcp::bigquery::{BigQuery, Error, QueryResult};
use panoptic::{BillingEvent, Decimal, Kind, Outcome, billable};
use serde_json::json;
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

/// A call refused by its budget, or a query that failed.
type AppError = common::call_error::CallError<Error>;

#[billable(
    provider = "gcp",
    service = "BigQuery",
    budget = "bq-daily",
    estimate = bq.estimate(sql).await.ok()
)]
async fn run_report(bq: &BigQuery, sql: &str) -> Result<QueryResult, AppError> {
    bq.query(sql).await.map_err(AppError::Failed)
}

#[billable(
    provider = "openai",
    service = "ChatCompletions",
    budget = "llm-daily",
    estimate = panoptic::openai::estimate_chat(request)
)]
fn chat(request: &CreateChatCompletionRequest) -> Result<CreateChatCompletionResponse, AppError> {
    // The API's answer: 20 prompt tokens, 40 completion tokens.
    Ok(serde_json::from_value(json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1764237000,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{
            "index": 0,
            "message": { "role": "assistant", "content": "Revenue up, costs flat.", "refusal": null },
            "logprobs": null,
            "finish_reason": "stop"
        }],
        "usage": { "prompt_tokens": 20, "completion_tokens": 40, "total_tokens": 60 }
    }))
    .unwrap())
}

const FITS: &str = "SELECT day, SUM(views) FROM site.views JOIN site.pages USING (page) JOIN site.users USING (user) GROUP BY day";
const TOO_BIG: &str = "SELECT * FROM site.raw_logs";

/// jobs.insert with `configuration.dryRun`, answered as BigQuery does: a
/// Job with statistics and the referenced tables.
fn dry_run_job(sql: &str, bytes: u64, tables: &[&str]) -> serde_json::Value {
    json!({
        "kind": "bigquery#job",
        "etag": "dry-run-etag",
        "selfLink": "https://bigquery.googleapis.com/bigquery/v2/projects/test-project/jobs/?location=US",
        "user_email": "ci@test-project.iam.gserviceaccount.com",
        "configuration": {
            "query": {
                "query": sql,
                "priority": "INTERACTIVE",
                "useQueryCache": false,
                "useLegacySql": false
            },
            "dryRun": true,
            "jobType": "QUERY"
        },
        "jobReference": { "projectId": "test-project", "location": "US" },
        "statistics": {
            "creationTime": "1764237000000",
            "totalBytesProcessed": bytes.to_string(),
            "query": {
                "totalBytesProcessed": bytes.to_string(),
                "totalBytesProcessedAccuracy": "PRECISE",
                "cacheHit": false,
                "statementType": "SELECT",
                "referencedTables": tables.iter().map(|t| json!({
                    "projectId": "test-project", "datasetId": "site", "tableId": t
                })).collect::<Vec<_>>()
            }
        },
        "status": { "state": "DONE" }
    })
}

async fn fake_bigquery() -> MockServer {
    let server = MockServer::start().await;
    // 5 MiB read across 3 tables: billed 3 × 10 MiB = 30 MiB.
    Mock::given(method("POST"))
        .and(path("/bigquery/v2/projects/test-project/jobs"))
        .and(body_partial_json(
            json!({"configuration": {"dryRun": true, "query": {"query": FITS, "useLegacySql": false}}}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(dry_run_job(
            FITS,
            5 * 1024 * 1024,
            &["views", "pages", "users"],
        )))
        .mount(&server)
        .await;
    // 1 GiB from one table.
    Mock::given(method("POST"))
        .and(path("/bigquery/v2/projects/test-project/jobs"))
        .and(body_partial_json(
            json!({"configuration": {"dryRun": true, "query": {"query": TOO_BIG}}}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(dry_run_job(
            TOO_BIG,
            1 << 30,
            &["raw_logs"],
        )))
        .mount(&server)
        .await;
    // The real run bills 20 MiB.
    Mock::given(method("POST"))
        .and(path("/bigquery/v2/projects/test-project/queries"))
        .and(body_partial_json(json!({"query": FITS})))
        .respond_with(ResponseTemplate::new(200).set_body_json(query_reply(
            "job_fits",
            json!([column("day", "DATE"), column("f0_", "INTEGER")]),
            vec![row(&["2026-11-26", "1350"])],
            5_242_880,
            20_971_520,
        )))
        .mount(&server)
        .await;
    server
}

async fn bigquery(server: &MockServer) -> BigQuery {
    fake_bigquery::client(&server.uri(), "test-token")
        .await
        .build()
        .unwrap()
}

fn is_start(event: &BillingEvent) -> bool {
    event.metadata.extra.get_bool("start") == Ok(true)
}

fn decimal(document: &bson::Document, key: &str) -> Decimal {
    panoptic::money::from_decimal128(*document.get_decimal128(key).unwrap()).unwrap()
}

fn chat_request(max_completion_tokens: Option<u32>) -> CreateChatCompletionRequest {
    let mut request = json!({
        "model": "gpt-4o-mini",
        "messages": [
            { "role": "system", "content": "Be brief." },
            { "role": "user", "content": "Summarize: revenue up 12%, costs flat." }
        ]
    });
    if let Some(max) = max_completion_tokens {
        request["max_completion_tokens"] = max.into();
    }
    serde_json::from_value(request).unwrap()
}

/// Every part installs the global instance: one after the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn estimates_and_start_records() {
    let server = common::TestServer::start();
    let uri = server.uri();
    estimates_from_the_arguments_reserve_before_the_call(&uri).await;
    start_records_by_default_show_calls_that_never_ended(&uri).await;
}

async fn estimates_from_the_arguments_reserve_before_the_call(uri: &str) {
    let uri = uri.to_owned();

    // --- BigQuery: the dry run's price is the reservation. ---
    let fake = fake_bigquery().await;
    let bq = bigquery(&fake).await;
    let env = common::unique_env("bq-estimate");
    {
        // On demand, $6.25 per TiB (2^40 bytes) = $6.25 / 2^20 per MiB.
        // FITS: max(10 MiB per query, 3 tables × 10 MiB) = 30 MiB →
        // 30 × 6.25 / 1048576 = 187.5 / 1048576 = 0.000178813934326171875.
        let estimate = dec("0.000178813934326171875");
        assert_eq!(bq.estimate(FITS).await.unwrap(), estimate);
        // Billed 20 MiB: 125 / 1048576 = 0.00011920928955078125.
        let billed = dec("0.00011920928955078125");
        // TOO_BIG: 1024 MiB → 6.25 / 1024 = 0.006103515625.
        assert_eq!(bq.estimate(TOO_BIG).await.unwrap(), dec("0.006103515625"));

        let guard = common::builder(&env)
            .mongodb_uri(&uri)
            .budget(
                Budget::new("bq-daily", Period::Day, dec("0.0002"))
                    .provider("gcp")
                    .service("BigQuery")
                    .mode(Mode::Enforce),
            )
            .install()
            .unwrap();
        let result = run_report(&bq, FITS).await.unwrap();
        assert_eq!(result.bytes_billed, 20 * 1024 * 1024);
        // 0.0002 − 0.000119… left: the 0.0061 dry run does not fit.
        match run_report(&bq, TOO_BIG).await {
            Err(AppError::OverBudget(refused)) => {
                assert_eq!(refused.estimate, dec("0.006103515625"))
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        let status = guard.budgets().unwrap().remove(0);
        // Settled at the real bill: the call's own event (no amount) does
        // not count its estimate on top of the invoice.
        assert_eq!(status.spent, billed);
        assert_eq!(status.reserved, Decimal::ZERO);
        assert_eq!(status.open_reservations, 0);
        drop(guard);

        // The refused query never ran: jobs.query never saw it.
        let requests = fake.received_requests().await.unwrap();
        let ran: Vec<serde_json::Value> = requests
            .iter()
            .filter(|r| r.url.path().ends_with("/queries"))
            .map(|r| serde_json::from_slice(&r.body).unwrap())
            .collect();
        assert_eq!(ran.len(), 1, "{ran:#?}");
        assert_eq!(ran[0]["query"], FITS);
        assert!(ran[0].get("dryRun").is_none());

        let events = common::events_at(&uri, &env, "gcp_john_doe").await;
        let starts: Vec<_> = events.iter().filter(|e| is_start(e)).collect();
        // One reservation (the refused call held none): its start record
        // carries the dry run's price.
        assert_eq!(starts.len(), 1, "{events:#?}");
        assert_eq!(starts[0].kind, Kind::Billing);
        assert_eq!(decimal(&starts[0].metadata.extra, "estimate"), estimate);
        let call_id = starts[0].metadata.extra.get_str("call_id").unwrap();
        // The client's one invoice (no dry run is recorded) settles that
        // reservation.
        let invoices: Vec<_> = events
            .iter()
            .filter(|e| e.metadata.extra.get_str("job_id").is_ok())
            .collect();
        assert_eq!(invoices.len(), 1, "{events:#?}");
        assert_eq!(invoices[0].amount, Some(billed));
        assert_eq!(invoices[0].metadata.extra.get_str("call_id"), Ok(call_id));
        assert_eq!(invoices[0].metadata.extra.get_str("budget"), Ok("bq-daily"));
        let refused: Vec<_> = events
            .iter()
            .filter(|e| e.outcome == Outcome::Refused)
            .collect();
        assert_eq!(refused.len(), 1, "{events:#?}");
        assert_eq!(refused[0].resource, "run_report");
        assert_eq!(refused[0].amount, Some(Decimal::ZERO));
        let total: Decimal = events.iter().filter_map(|e| e.amount).sum();
        assert_eq!(total, billed);
    }

    // --- OpenAI: prompt tokens plus the token cap at the model's price. ---
    let env = common::unique_env("llm-estimate");
    {
        // gpt-4o-mini: input $0.15, output $0.60 per 1M tokens.
        // Prompt: "Be brief." (9 characters) and "Summarize: revenue up 12%,
        // costs flat." (38): ⌈47 / 4⌉ = 12, + 3 per message × 2, + 3 for
        // the reply = 21 tokens → 21 × 0.15 / 1e6 = 0.00000315.
        // Output cap 200 → 200 × 0.60 / 1e6 = 0.00012.
        let estimate = dec("0.00012315");
        assert_eq!(
            panoptic::openai::estimate_chat(&chat_request(Some(200))),
            Some(estimate)
        );
        // The answer used 20 + 40 tokens: 0.000003 + 0.000024.
        let billed = dec("0.000027");
        let guard = common::builder(&env)
            .mongodb_uri(&uri)
            .budget(
                Budget::new("llm-daily", Period::Day, dec("0.001"))
                    .provider("openai")
                    .mode(Mode::Enforce),
            )
            .install()
            .unwrap();
        assert!(chat(&chat_request(Some(200))).is_ok());
        // Cap 5000: 0.003 + 0.00000315 does not fit in 0.001.
        match chat(&chat_request(Some(5000))) {
            Err(AppError::OverBudget(refused)) => assert_eq!(refused.estimate, dec("0.00300315")),
            other => panic!("expected a refusal, got {other:?}"),
        }
        // No cap: no estimate, nothing reserved; it runs and its real
        // amount is counted.
        assert_eq!(panoptic::openai::estimate_chat(&chat_request(None)), None);
        assert!(chat(&chat_request(None)).is_ok());
        let status = guard
            .budgets()
            .unwrap()
            .into_iter()
            .find(|s| s.budget.name == "llm-daily")
            .unwrap();
        assert_eq!(status.spent, billed + billed);
        assert_eq!(status.reserved, Decimal::ZERO);
        drop(guard);

        let events = common::events_at(&uri, &env, "openai_john_doe").await;
        let mut estimates: Vec<Decimal> = events
            .iter()
            .filter(|e| is_start(e))
            .map(|e| decimal(&e.metadata.extra, "estimate"))
            .collect();
        estimates.sort();
        assert_eq!(estimates, [Decimal::ZERO, estimate]);
        let outcomes: Vec<_> = events
            .iter()
            .filter(|e| !is_start(e))
            .map(|e| (e.outcome, e.amount))
            .collect();
        assert_eq!(outcomes.len(), 3, "{events:#?}");
        assert_eq!(
            outcomes
                .iter()
                .filter(|o| **o == (Outcome::Ok, Some(billed)))
                .count(),
            2
        );
        assert!(outcomes.contains(&(Outcome::Refused, Some(Decimal::ZERO))));
    }
}

#[billable(provider = "user_defined", service = "Work", amount = 0.05)]
fn plain_step() -> u32 {
    7
}

#[billable(provider = "user_defined", service = "Work", start_record = false)]
fn quiet_step() -> u32 {
    8
}

#[billable(provider = "user_defined", service = "Work", amount = 0.40)]
async fn never_ends() -> u32 {
    std::future::pending::<()>().await;
    9
}

async fn start_records_by_default_show_calls_that_never_ended(uri: &str) {
    let uri = uri.to_owned();
    let env = common::unique_env("start-default");
    {
        let guard = common::builder(&env)
            .mongodb_uri(&uri)
            .start_records(true)
            .install()
            .unwrap();
        assert_eq!(plain_step(), 7);
        assert_eq!(quiet_step(), 8);
        // A call that starts and never ends, as if its process died: polled
        // once, then forgotten (no final event is ever written).
        let mut call = Box::pin(never_ends());
        let waker = std::task::Waker::noop();
        let polled = call
            .as_mut()
            .poll(&mut std::task::Context::from_waker(waker));
        assert!(polled.is_pending());
        std::mem::forget(call);
        assert!(guard.flush());
    }
    let events = common::events_at(&uri, &env, "user_defined_john_doe").await;
    let of = |name: &str| -> Vec<&BillingEvent> {
        events
            .iter()
            .filter(|e| e.metadata.function_name.as_deref() == Some(name))
            .collect()
    };
    // plain_step: a start record, then its final event, with one call id.
    let plain = of("plain_step");
    assert_eq!(plain.len(), 2, "{events:#?}");
    let start = plain.iter().find(|e| is_start(e)).unwrap();
    let end = plain.iter().find(|e| !is_start(e)).unwrap();
    assert_eq!((start.kind, start.amount), (Kind::Billing, None));
    assert_eq!(decimal(&start.metadata.extra, "estimate"), dec("0.05"));
    let call_id = start.metadata.extra.get_str("call_id").unwrap();
    assert_eq!(end.metadata.extra.get_str("call_id"), Ok(call_id));
    assert_eq!(end.amount, Some(dec("0.05")));
    // quiet_step turned the default off.
    let quiet = of("quiet_step");
    assert_eq!(quiet.len(), 1, "{events:#?}");
    assert!(!is_start(quiet[0]));
    assert!(quiet[0].metadata.extra.get_str("call_id").is_err());
    // never_ends: only its start.
    let open = of("never_ends");
    assert_eq!(open.len(), 1, "{events:#?}");
    assert!(is_start(open[0]));

    // `panoptic report` lists it as an open call, with its estimate, and
    // does not sum start records as spend.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_panoptic"))
        .args([
            "report", "--env", &env, "--by", "resource", "--format", "json",
        ])
        .env("MONGODB_URI", &uri)
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("1 open call(s) (started, never ended), estimated 0.4 USD:"),
        "{stderr}"
    );
    assert!(stderr.contains("never_ends user_defined/Work"), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let total: Decimal = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        // A group none of whose calls was priced has no amount (null).
        .filter_map(|r| r["amount"].as_str().map(dec))
        .sum();
    assert_eq!(total, dec("0.05"));
}
