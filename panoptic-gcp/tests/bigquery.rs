//! The BigQuery client against a local fake that answers with the REST
//! API's exact JSON.

mod support;

use std::time::Duration;

use panoptic_gcp::bigquery::{BigQuery, Error, Query, QueryParameter, Value};
use serde_json::{Value as Json, json};
use support::{QUERIES, column, ok, on, reply, serve, with_fields};
use wiremock::matchers::{body_partial_json, header, query_param, query_param_is_missing};
use wiremock::{MockServer, Request, ResponseTemplate};

const JOB_RESULTS: &str = "/bigquery/v2/projects/test-project/queries/job_abc";
const JOB: &str = "/bigquery/v2/projects/test-project/jobs/job_abc";

fn schema() -> Json {
    json!({"fields": [column("word", "STRING"), column("n", "INTEGER")]})
}

fn row(word: &str, n: i64) -> Json {
    json!({"f": [{"v": word}, {"v": n.to_string()}]})
}

fn job_ref() -> Json {
    json!({"projectId": "test-project", "jobId": "job_abc", "location": "US"})
}

/// A reply of the job `job_abc` that is complete, with the test schema;
/// `fields` add to these or replace them.
fn complete(fields: Json) -> Json {
    let reply = json!({"schema": schema(), "jobReference": job_ref(), "jobComplete": true});
    with_fields(reply, fields)
}

/// A reply of the job `job_abc` that is still running.
fn running(kind: &str) -> Json {
    json!({"kind": kind, "jobReference": job_ref(), "jobComplete": false})
}

#[tokio::test]
async fn a_complete_reply_is_decoded_and_billed_once() {
    let (_server, bq, logged) = support::fake_bigquery([on("POST", QUERIES)
        .and(header("authorization", "Bearer test-token"))
        .and(body_partial_json(json!({
            "query": "SELECT word, n FROM t WHERE corpus = @corpus",
            "useLegacySql": false,
            "parameterMode": "NAMED",
            "queryParameters": [{"name": "corpus", "parameterType": {"type": "STRING"}, "parameterValue": {"value": "hamlet"}}],
            "maximumBytesBilled": "1000000000",
            "labels": {"team": "growth"},
            "location": "US"
        })))
        .respond_with(ok(complete(json!({
            "kind": "bigquery#queryResponse",
            "totalRows": "2",
            "rows": [row("the", 42), row("hamlet", 7)],
            "totalBytesProcessed": "1000",
            "totalBytesBilled": "10485760",
            "cacheHit": false
        }))))
        .expect(1)]).await;
    let result = bq
        .query(
            Query::new("SELECT word, n FROM t WHERE corpus = @corpus")
                .param(QueryParameter::string("corpus", "hamlet"))
                .maximum_bytes_billed(1_000_000_000)
                .label("team", "growth")
                .location("US"),
        )
        .await
        .unwrap();

    assert_eq!(result.bytes_billed, 10_485_760);
    assert_eq!(result.bytes_processed, 1000);
    assert_eq!(result.total_rows, Some(2));
    assert_eq!(result.pages, 1);
    let rows = result.decode().unwrap();
    assert_eq!(rows[0].get("word"), Some(&Value::String("the".into())));
    assert_eq!(rows[1].get("n"), Some(&Value::Int64(7)));
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Count {
        word: String,
        n: i64,
    }
    let counts: Vec<Count> = result.deserialize().unwrap();
    assert_eq!(
        counts[0],
        Count {
            word: "the".into(),
            n: 42
        }
    );

    // 10 MiB at $6.25/TiB.
    let expected = "0.000059604644775390625";
    assert_eq!(result.cost.unwrap().to_string(), expected);
    let logged = logged.lock().unwrap();
    assert_eq!(logged.len(), 1);
    let event = &logged[0];
    assert_eq!(event.tag, "invoice");
    assert_eq!(event.get("resource"), Some("bigquery_query"));
    assert_eq!(event.get("quantity"), Some("10485760"));
    assert_eq!(event.get("unit"), Some("bytes"));
    assert_eq!(event.get("amount"), Some(expected));
    assert_eq!(event.get("outcome"), Some("ok"));
    assert_eq!(event.get("bytes_processed"), Some("1000"));
    assert_eq!(event.get("bytes_billed"), Some("10485760"));
    assert_eq!(event.get("rows_returned"), Some("2"));
    assert_eq!(event.get("cache_hit"), Some("false"));
    assert_eq!(event.get("job_id"), Some("job_abc"));
    assert_eq!(event.get("location"), Some("US"));
}

#[tokio::test]
async fn polls_until_complete_then_follows_every_page_and_reads_bytes_billed_from_the_job() {
    const RESULTS: &str = "bigquery#getQueryResultsResponse";
    // Page 1 of 3 (a, b) names page 2 (c, d), which names page 3 (e).
    let (server, bq, logged) = support::fake_bigquery([
        on("POST", QUERIES)
            .respond_with(ok(running("bigquery#queryResponse")))
            .expect(1),
        // First poll: still running; second: complete with page 1.
        on("GET", JOB_RESULTS)
            .and(query_param_is_missing("pageToken"))
            .respond_with(ok(running(RESULTS)))
            .up_to_n_times(1)
            .expect(1),
        on("GET", JOB_RESULTS)
            .and(query_param_is_missing("pageToken"))
            .respond_with(ok(complete(json!({
                "kind": RESULTS, "totalRows": "5", "rows": [row("a", 1), row("b", 2)], "pageToken": "page-2",
                "totalBytesProcessed": "3298534883328", "cacheHit": false
            }))))
            .expect(1),
        on("GET", JOB_RESULTS)
            .and(query_param("pageToken", "page-2"))
            .and(query_param("location", "US"))
            .respond_with(ok(complete(json!({
                "kind": RESULTS, "totalRows": "5", "rows": [row("c", 3), row("d", 4)], "pageToken": "page-3"
            }))))
            .expect(1),
        on("GET", JOB_RESULTS)
            .and(query_param("pageToken", "page-3"))
            .respond_with(ok(complete(json!({
                "kind": RESULTS, "totalRows": "5", "rows": [row("e", 5)]
            }))))
            .expect(1),
        // getQueryResults never carries totalBytesBilled: jobs.get does.
        on("GET", JOB)
            .and(query_param("location", "US"))
            .respond_with(ok(json!({
                "kind": "bigquery#job",
                "jobReference": job_ref(),
                "status": {"state": "DONE"},
                "statistics": {
                    "totalBytesProcessed": "3298534883328",
                    "query": {"totalBytesProcessed": "3298534883328", "totalBytesBilled": "3298534883328", "cacheHit": false}
                }
            })))
            .expect(1),
    ]).await;
    let result = bq.query("SELECT word, n FROM big").await.unwrap();
    let words: Vec<String> = result
        .decode()
        .unwrap()
        .iter()
        .map(|r| match r.get("word") {
            Some(Value::String(s)) => s.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(words, ["a", "b", "c", "d", "e"]);
    assert_eq!(result.pages, 3);
    // 3 TiB at list price.
    assert_eq!(result.bytes_billed, 3 * (1u64 << 40));
    assert_eq!(result.cost.unwrap().to_string(), "18.75");
    let event = logged.lock().unwrap()[0].clone();
    assert_eq!(event.get("amount"), Some("18.75"));
    assert_eq!(event.get("rows_returned"), Some("5"));

    // Every request carried the token; the first asked for GoogleSQL.
    let requests = server.received_requests().await.unwrap();
    assert!(
        requests
            .iter()
            .all(|r| r.headers.get("authorization").unwrap() == "Bearer test-token")
    );
    let body: Json = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(body["useLegacySql"], false);
    assert!(body["requestId"].as_str().is_some_and(|id| !id.is_empty()));
}

#[tokio::test]
async fn error_bodies_are_typed_and_failed_queries_bill_nothing() {
    let body = json!({
        "error": {
            "code": 400,
            "message": "Syntax error: Unexpected identifier \"SELEC\" at [1:1]",
            "errors": [{"message": "Syntax error: Unexpected identifier \"SELEC\" at [1:1]", "domain": "global", "reason": "invalidQuery", "location": "q", "locationType": "parameter"}],
            "status": "INVALID_ARGUMENT"
        }
    });
    // Expected once: a 400 is not retried.
    let not_retried = on("POST", QUERIES).respond_with(reply(400, body)).expect(1);
    let (_server, bq, logged) = support::fake_bigquery([not_retried]).await;
    let err = bq
        .query(Query::new("SELEC 1").resource("typo_report"))
        .await
        .unwrap_err();
    let api = err.api().expect("an API error");
    assert_eq!(api.status, 400);
    assert_eq!(api.reason, "invalidQuery");
    assert!(api.message.starts_with("Syntax error"));
    assert_eq!(api.errors[0].location.as_deref(), Some("q"));

    let event = &logged.lock().unwrap()[0];
    assert_eq!(event.get("resource"), Some("typo_report"));
    assert_eq!(event.get("outcome"), Some("error"));
    assert_eq!(event.get("amount"), Some("0"));
    assert_eq!(event.get("error_reason"), Some("invalidQuery"));
    assert!(event.get("error").unwrap().contains("Syntax error"));
}

#[tokio::test]
async fn rate_limits_and_server_errors_are_retried_then_succeed() {
    let rate_limited = json!({
        "error": {"code": 429, "message": "Exceeded rate limits: too many api requests per user per method",
                  "errors": [{"message": "Exceeded rate limits", "domain": "usageLimits", "reason": "rateLimitExceeded"}],
                  "status": "RESOURCE_EXHAUSTED"}
    });
    let internal = json!({
        "error": {"code": 500, "message": "An internal error occurred.",
                  "errors": [{"message": "An internal error occurred.", "domain": "global", "reason": "backendError"}],
                  "status": "INTERNAL"}
    });
    let (server, bq, logged) = support::fake_bigquery([
        on("POST", QUERIES)
            .respond_with(reply(429, rate_limited))
            .up_to_n_times(1),
        on("POST", QUERIES)
            .respond_with(reply(500, internal))
            .up_to_n_times(1),
        on("POST", QUERIES).respond_with(ok(complete(json!({
            "totalRows": "1", "rows": [row("x", 1)],
            "totalBytesProcessed": "0", "totalBytesBilled": "0", "cacheHit": true
        })))),
    ])
    .await;
    let result = bq.query("SELECT 1").await.unwrap();
    assert!(result.cache_hit);
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
    // The three attempts carried the same requestId, so BigQuery runs it once.
    let ids: Vec<Json> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r: &Request| serde_json::from_slice::<Json>(&r.body).unwrap()["requestId"].clone())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "{ids:?}");
    let event = &logged.lock().unwrap()[0];
    assert_eq!(event.get("cache_hit"), Some("true"));
    assert_eq!(event.get("amount"), Some("0"));
}

#[tokio::test]
async fn retries_are_bounded() {
    let unavailable = ResponseTemplate::new(503).set_body_string("Service Unavailable");
    // The first attempt and 3 retries.
    let (_server, bq, _logged) =
        support::fake_bigquery([on("POST", QUERIES).respond_with(unavailable).expect(4)]).await;
    let err = bq.query("SELECT 1").await.unwrap_err();
    assert_eq!(err.api().unwrap().status, 503);
}

#[tokio::test]
async fn dry_run_reports_bytes_and_costs_nothing() {
    let (_server, bq, logged) = support::fake_bigquery([on("POST", QUERIES)
        .and(body_partial_json(
            json!({"dryRun": true, "useLegacySql": false}),
        ))
        .respond_with(ok(complete(json!({
            "kind": "bigquery#queryResponse",
            "jobReference": {"projectId": "test-project", "location": "US"},
            "totalBytesProcessed": "65536000",
            "cacheHit": false
        }))))
        .expect(1)])
    .await;
    let dry_run = Query::new("SELECT * FROM t").dry_run(true);
    let result = bq.query(dry_run).await.unwrap();
    assert!(result.dry_run);
    assert_eq!(result.bytes_processed, 65_536_000);
    assert_eq!(result.bytes_billed, 0);
    let event = &logged.lock().unwrap()[0];
    assert_eq!(event.get("amount"), Some("0"));
    assert_eq!(event.get("dry_run"), Some("true"));
}

#[tokio::test]
async fn an_unpriced_location_bills_no_amount_and_says_why() {
    let (_server, bq, logged) =
        support::fake_bigquery([on("POST", QUERIES).respond_with(ok(complete(json!({
            "jobReference": {"projectId": "test-project", "jobId": "j", "location": "mars-north1"},
            "totalBytesProcessed": "10485760", "totalBytesBilled": "10485760", "cacheHit": false
        }))))])
        .await;
    let result = bq.query("SELECT 1").await.unwrap();
    assert_eq!(result.cost, None);
    let event = &logged.lock().unwrap()[0];
    assert_eq!(event.get("amount"), None);
    assert!(event.get("pricing_error").unwrap().contains("mars-north1"));
}

#[tokio::test]
async fn the_token_from_the_oauth_fake_reaches_bigquery() {
    let server = serve([
        on("POST", "/token")
            .respond_with(ok(json!({
                "access_token": "ya29.fake-sa-token", "expires_in": 3600, "token_type": "Bearer"
            })))
            .expect(1),
        on("POST", QUERIES)
            .and(header("authorization", "Bearer ya29.fake-sa-token"))
            .respond_with(ok(complete(json!({
                "rows": [], "totalRows": "0",
                "totalBytesProcessed": "0", "totalBytesBilled": "0", "cacheHit": false
            }))))
            .expect(2),
    ])
    .await;
    let tokens = support::service_account_tokens(&format!("{}/token", server.uri())).await;
    let (logger, _) = support::capture();
    let bq = BigQuery::builder("test-project")
        .base_url(format!("{}/bigquery/v2", server.uri()))
        .tokens(tokens)
        .logger(logger)
        .build()
        .unwrap();
    bq.query("SELECT 1").await.unwrap();
    bq.query("SELECT 2").await.unwrap();
}

#[tokio::test]
async fn a_job_that_never_completes_times_out_at_the_deadline() {
    let server =
        serve([on("POST", QUERIES).respond_with(ok(running("bigquery#queryResponse")))]).await;
    let (logger, logged) = support::capture();
    let bq = BigQuery::builder("test-project")
        .base_url(format!("{}/bigquery/v2/", server.uri()))
        .query_deadline(Duration::ZERO)
        .logger(logger)
        .build()
        .unwrap();
    match bq.query("SELECT SLEEP()").await {
        Err(Error::Timeout { job_id, .. }) => assert_eq!(job_id, "job_abc"),
        other => panic!("{other:?}"),
    }
    let event = &logged.lock().unwrap()[0];
    assert_eq!(event.get("outcome"), Some("error"));
    assert_eq!(event.get("job_id"), Some("job_abc"));
}

fn request_ids(requests: &[Request]) -> Vec<String> {
    requests
        .iter()
        .filter(|r| r.url.path() == QUERIES)
        .map(|r| {
            serde_json::from_slice::<Json>(&r.body).unwrap()["requestId"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn the_request_id_is_a_36_character_uuid_and_timestamps_come_as_microseconds() {
    let (server, bq, _logged) = support::fake_bigquery([on("POST", QUERIES)
        .and(body_partial_json(
            json!({"formatOptions": {"useInt64Timestamp": true}}),
        ))
        .respond_with(ok(json!({
            "kind": "bigquery#queryResponse",
            "schema": {"fields": [column("at", "TIMESTAMP")]},
            "jobReference": job_ref(), "jobComplete": true, "totalRows": "1",
            "rows": [{"f": [{"v": "1700000000123456"}]}],
            "totalBytesProcessed": "0", "totalBytesBilled": "0", "cacheHit": false
        })))
        .expect(1)])
    .await;
    let result = bq.query("SELECT CURRENT_TIMESTAMP() AS at").await.unwrap();
    let ids = request_ids(&server.received_requests().await.unwrap());
    assert_eq!(ids.len(), 1);
    assert_eq!(ids[0].len(), 36, "{}", ids[0]);
    assert_eq!(ids[0].matches('-').count(), 4, "{}", ids[0]);
    let at = chrono::DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap();
    assert_eq!(
        result.decode().unwrap()[0].get("at"),
        Some(&Value::Timestamp(at))
    );
}

#[tokio::test]
async fn not_implemented_is_not_retried() {
    let body =
        json!({"error": {"code": 501, "message": "Not implemented", "status": "UNIMPLEMENTED"}});
    let (_server, bq, _logged) =
        support::fake_bigquery([on("POST", QUERIES).respond_with(reply(501, body)).expect(1)])
            .await;
    assert_eq!(
        bq.query("SELECT 1")
            .await
            .unwrap_err()
            .api()
            .unwrap()
            .status,
        501
    );
}

#[tokio::test]
async fn a_job_backend_error_reruns_the_job_with_a_new_request_id_and_bills_the_run_that_answered()
{
    let job_backend_error = json!({"error": {
        "code": 400, "message": "The job encountered an internal error during execution.",
        "errors": [{"message": "The job encountered an internal error during execution.", "domain": "global", "reason": "jobBackendError"}],
        "status": "INVALID_ARGUMENT"}});
    let (server, bq, logged) = support::fake_bigquery([
        // Run 1: created, then fails while running, having processed 10 MiB:
        // a query that returns an error is not charged.
        on("POST", QUERIES)
            .respond_with(ok(running("bigquery#queryResponse")))
            .up_to_n_times(1)
            .expect(1),
        on("GET", JOB_RESULTS)
            .respond_with(reply(400, job_backend_error))
            .expect(1),
        on("GET", JOB)
            .respond_with(ok(json!({
                "kind": "bigquery#job", "id": "test-project:US.job_abc", "jobReference": job_ref(),
                "status": {"state": "DONE",
                           "errorResult": {"reason": "jobBackendError", "message": "internal error"},
                           "errors": [{"reason": "jobBackendError", "message": "internal error"}]},
                "statistics": {"creationTime": "1700000000000", "totalBytesProcessed": "1000", "totalSlotMs": "1200",
                               "query": {"totalBytesProcessed": "1000", "totalBytesBilled": "10485760", "totalSlotMs": "1200"}}
            })))
            .expect(1),
        // Run 2: a new job that succeeds.
        on("POST", QUERIES)
            .respond_with(ok(json!({
                "kind": "bigquery#queryResponse", "schema": schema(),
                "jobReference": {"projectId": "test-project", "jobId": "job_def", "location": "US"},
                "jobComplete": true, "totalRows": "1", "rows": [row("a", 1)],
                "totalBytesProcessed": "1000", "totalBytesBilled": "10485760", "cacheHit": false
            })))
            .expect(1),
    ])
    .await;
    let result = bq.query("SELECT word, n FROM t").await.unwrap();
    assert_eq!(result.retried_attempts, 1);
    let ids = request_ids(&server.received_requests().await.unwrap());
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], ids[1], "a rerun is a new request");
    let logged = logged.lock().unwrap();
    assert_eq!(logged.len(), 2, "one event per run");
    let (first, second) = (&logged[0], &logged[1]);
    assert_eq!(first.get("outcome"), Some("error"));
    assert_eq!(first.get("error_reason"), Some("jobBackendError"));
    assert_eq!(first.get("retried"), Some("true"));
    assert_eq!(first.get("attempt"), Some("1"));
    assert_eq!(first.get("job_id"), Some("job_abc"));
    assert_eq!(first.get("bytes_billed"), Some("0"));
    assert_eq!(first.get("amount"), Some("0"));
    assert_eq!(first.get("estimated"), Some("false"));
    assert_eq!(second.get("amount"), Some("0.000059604644775390625"));
    assert_eq!(second.get("outcome"), Some("ok"));
    assert_eq!(second.get("attempt"), Some("2"));
    assert_eq!(second.get("job_id"), Some("job_def"));
}

/// The event of a query run against `server` by a client whose deadline
/// passes at once: the query times out.
async fn timed_out_query_event(server: &MockServer) -> support::Logged {
    let (logger, logged) = support::capture();
    let bq = BigQuery::builder("test-project")
        .base_url(format!("{}/bigquery/v2/", server.uri()))
        .query_deadline(Duration::ZERO)
        .retry(support::fast_retry())
        .logger(logger)
        .build()
        .unwrap();
    assert!(matches!(
        bq.query("SELECT SLEEP()").await,
        Err(Error::Timeout { .. })
    ));
    logged.lock().unwrap()[0].clone()
}

#[tokio::test]
async fn a_timed_out_job_is_cancelled_and_billed_what_it_billed() {
    let cancel = "/bigquery/v2/projects/test-project/jobs/job_abc/cancel";
    let server = serve([
        on("POST", QUERIES).respond_with(ok(running("bigquery#queryResponse"))),
        on("POST", cancel)
            .and(query_param("location", "US"))
            .respond_with(ok(json!({
                "kind": "bigquery#jobCancelResponse",
                "job": {"kind": "bigquery#job", "jobReference": job_ref(), "status": {"state": "RUNNING"}}
            })))
            .expect(1),
        on("GET", JOB)
            .respond_with(ok(json!({
                "kind": "bigquery#job", "jobReference": job_ref(),
                "status": {"state": "DONE", "errorResult": {"reason": "stopped", "message": "Job execution was cancelled: User requested cancellation"}},
                "statistics": {"totalBytesProcessed": "1099511627776",
                               "query": {"totalBytesProcessed": "1099511627776", "totalBytesBilled": "1099511627776"}}
            })))
            .expect(1),
    ])
    .await;
    let event = timed_out_query_event(&server).await;
    assert_eq!(event.get("outcome"), Some("error"));
    assert_eq!(event.get("bytes_billed"), Some("1099511627776"));
    assert_eq!(event.get("amount"), Some("6.25"));
    assert_eq!(event.get("estimated"), Some("false"));
}

#[tokio::test]
async fn a_timed_out_job_whose_statistics_cannot_be_read_is_unpriced_not_free() {
    let cancel = "/bigquery/v2/projects/test-project/jobs/job_abc/cancel";
    let unavailable = json!({"error": {"code": 503, "message": "The service is currently unavailable.",
        "errors": [{"message": "The service is currently unavailable.", "domain": "global", "reason": "backendError"}],
        "status": "UNAVAILABLE"}});
    let server = serve([
        on("POST", QUERIES).respond_with(ok(running("bigquery#queryResponse"))),
        on("POST", cancel).respond_with(reply(503, unavailable.clone())),
        on("GET", JOB).respond_with(reply(503, unavailable)),
    ])
    .await;
    let event = timed_out_query_event(&server).await;
    assert_eq!(event.get("outcome"), Some("error"));
    assert_eq!(event.get("amount"), None, "{event:?}");
    assert!(
        event.get("pricing_error").unwrap().contains("job_abc"),
        "{event:?}"
    );
}

#[tokio::test]
async fn a_failure_while_reading_pages_bills_the_finished_job() {
    let gone = json!({"error": {"code": 404, "message": "Not found: Job test-project:US.job_abc",
        "errors": [{"message": "Not found: Job", "domain": "global", "reason": "notFound"}], "status": "NOT_FOUND"}});
    let (_server, bq, logged) = support::fake_bigquery([
        on("POST", QUERIES)
            .respond_with(ok(complete(json!({
                "kind": "bigquery#queryResponse", "totalRows": "4", "rows": [row("a", 1)],
                "pageToken": "page-2", "totalBytesProcessed": "2199023255552",
                "totalBytesBilled": "2199023255552", "cacheHit": false
            })))),
        on("GET", JOB_RESULTS).respond_with(reply(404, gone)),
        on("GET", JOB)
            .respond_with(ok(json!({
                "kind": "bigquery#job", "jobReference": job_ref(), "status": {"state": "DONE"},
                "statistics": {"query": {"totalBytesProcessed": "2199023255552", "totalBytesBilled": "2199023255552"}}
            })))
            .expect(1),
    ])
    .await;
    assert!(bq.query("SELECT word, n FROM big").await.is_err());
    let event = &logged.lock().unwrap()[0];
    assert_eq!(event.get("outcome"), Some("error"));
    assert_eq!(event.get("amount"), Some("12.5"));
}

#[tokio::test]
async fn editions_price_slot_time_and_say_so() {
    use panoptic_gcp::pricing::{Edition, PricingModel};
    let server = serve([
        on("POST", QUERIES).respond_with(ok(complete(json!({
            "kind": "bigquery#queryResponse", "totalRows": "0", "rows": [],
            "totalBytesProcessed": "1099511627776", "totalBytesBilled": "1099511627776", "cacheHit": false
        })))),
        on("GET", JOB)
            .respond_with(ok(json!({
                "kind": "bigquery#job", "jobReference": job_ref(), "status": {"state": "DONE"},
                "statistics": {"totalSlotMs": "7200000",
                               "query": {"totalBytesBilled": "1099511627776", "totalSlotMs": "7200000"}}
            })))
            .expect(1),
    ])
    .await;
    let (logger, logged) = support::capture();
    let bq = BigQuery::builder("test-project")
        .base_url(format!("{}/bigquery/v2/", server.uri()))
        .pricing_model(PricingModel::Editions {
            edition: Edition::Enterprise,
            rate_per_slot_hour: "0.06".parse().unwrap(),
        })
        .logger(logger)
        .build()
        .unwrap();
    let result = bq.query("SELECT 1").await.unwrap();
    // 2 slot-hours at $0.06; the TiB billed is informational.
    assert_eq!(result.cost.unwrap().to_string(), "0.12");
    let event = &logged.lock().unwrap()[0];
    assert_eq!(event.get("pricing_model"), Some("editions"));
    assert_eq!(event.get("edition"), Some("ENTERPRISE"));
    assert_eq!(event.get("unit"), Some("slot_ms"));
    assert_eq!(event.get("quantity"), Some("7200000"));
    assert_eq!(event.get("bytes_billed"), Some("1099511627776"));
}

#[tokio::test]
async fn every_job_carries_the_panoptic_labels() {
    let server = serve([on("POST", QUERIES).respond_with(ok(complete(json!({
        "kind": "bigquery#queryResponse", "totalRows": "0", "rows": [],
        "totalBytesProcessed": "0", "totalBytesBilled": "0", "cacheHit": false
    }))))])
    .await;
    let (logger, logged) = support::capture();
    let bq = BigQuery::builder("test-project")
        .base_url(format!("{}/bigquery/v2/", server.uri()))
        .env("Staging")
        .user("John.Doe@Example.com")
        .logger(logger)
        .build()
        .unwrap();
    let long = "Nightly Report ".repeat(6);
    bq.query(
        Query::new("SELECT 1")
            .resource(long)
            .label("Team", "Growth"),
    )
    .await
    .unwrap();
    let body: Json =
        serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
    let labels = body["labels"].as_object().unwrap();
    assert_eq!(labels["panoptic_env"], "staging");
    assert_eq!(labels["panoptic_user"], "john_doe_example_com");
    assert_eq!(labels["team"], "growth");
    let resource = labels["panoptic_resource"].as_str().unwrap();
    assert_eq!(resource.len(), 63);
    assert!(resource.starts_with("nightly_report_nightly_report_"));
    assert_eq!(event_count(&logged), 1);
}

fn event_count(logged: &support::Records) -> usize {
    logged.lock().unwrap().len()
}

/// A client of a fake whose job ran 2 slot-hours and billed 1 TiB, its
/// statistics naming `capacity` (`reservation_id`, `edition`) or nothing.
async fn capacity_run(
    model: panoptic_gcp::pricing::PricingModel,
    capacity: Json,
) -> (MockServer, support::Logged) {
    let statistics = with_fields(
        json!({"totalSlotMs": "7200000", "creationTime": "1764547200000",
               "query": {"totalBytesBilled": "1099511627776", "totalSlotMs": "7200000"}}),
        capacity,
    );
    let server = serve([
        on("POST", QUERIES).respond_with(ok(complete(json!({
            "kind": "bigquery#queryResponse", "totalRows": "0", "rows": [],
            "totalBytesProcessed": "1099511627776", "totalBytesBilled": "1099511627776", "cacheHit": false
        })))),
        on("GET", JOB)
            .respond_with(ok(json!({
                "kind": "bigquery#job", "jobReference": job_ref(), "status": {"state": "DONE"},
                "statistics": statistics
            })))
            .expect(1),
    ])
    .await;
    let (logger, logged) = support::capture();
    let bq = BigQuery::builder("test-project")
        .base_url(format!("{}/bigquery/v2/", server.uri()))
        .pricing_model(model)
        .logger(logger)
        .build()
        .unwrap();
    bq.query("SELECT 1").await.unwrap();
    let event = logged.lock().unwrap()[0].clone();
    (server, event)
}

#[tokio::test]
async fn editions_are_sure_only_when_the_job_names_its_edition() {
    use panoptic_gcp::pricing::{Edition, PricingModel};
    let enterprise = PricingModel::Editions {
        edition: Edition::Enterprise,
        rate_per_slot_hour: "0.06".parse().unwrap(),
    };
    let reservation = "projects/admin/locations/US/reservations/etl";
    // The job names the configured edition: priced, not an estimate.
    let (_s, event) = capacity_run(
        enterprise,
        json!({"reservation_id": reservation, "edition": "ENTERPRISE"}),
    )
    .await;
    assert_eq!(event.get("amount"), Some("0.12")); // 2 slot-hours × $0.06
    assert_eq!(event.get("estimated"), Some("false"));
    assert_eq!(event.get("reservation"), Some(reservation));
    assert_eq!(event.get("edition"), Some("ENTERPRISE"));
    // The job says nothing: the configured edition is the caller's word.
    let (_s, event) = capacity_run(enterprise, json!({})).await;
    assert_eq!(event.get("amount"), Some("0.12"));
    assert_eq!(event.get("estimated"), Some("true"));
    assert_eq!(event.get("reservation"), None);
    // The job ran on another edition: the rate given is not its own.
    let (_s, event) = capacity_run(
        enterprise,
        json!({"reservation_id": reservation, "edition": "STANDARD"}),
    )
    .await;
    assert_eq!(event.get("estimated"), Some("true"));
    assert_eq!(event.get("edition"), Some("STANDARD"));
}

#[tokio::test]
async fn an_on_demand_client_whose_job_ran_in_a_reservation_is_unpriced() {
    use panoptic_gcp::pricing::PricingModel;
    // Bytes billed are in the reply: jobs.get is read only because the
    // fake asks for it below, through a reply without totalBytesBilled.
    let server = serve([
        on("POST", QUERIES).respond_with(ok(complete(json!({
            "kind": "bigquery#queryResponse", "totalRows": "0", "rows": [],
            "totalBytesProcessed": "1099511627776", "cacheHit": false
        })))),
        on("GET", JOB).respond_with(ok(json!({
            "kind": "bigquery#job", "jobReference": job_ref(), "status": {"state": "DONE"},
            "statistics": {"totalSlotMs": "7200000", "reservation_id": "projects/admin/locations/US/reservations/etl",
                           "edition": "ENTERPRISE",
                           "query": {"totalBytesBilled": "1099511627776", "totalSlotMs": "7200000"}}
        }))),
    ])
    .await;
    let (logger, logged) = support::capture();
    let bq = BigQuery::builder("test-project")
        .base_url(format!("{}/bigquery/v2/", server.uri()))
        .pricing_model(PricingModel::OnDemand)
        .logger(logger)
        .build()
        .unwrap();
    let result = bq.query("SELECT 1").await.unwrap();
    assert_eq!(result.cost, None);
    let event = logged.lock().unwrap()[0].clone();
    assert_eq!(event.get("amount"), None);
    assert!(event.get("pricing_error").unwrap().contains("reservation"));
    assert_eq!(
        event.get("reservation"),
        Some("projects/admin/locations/US/reservations/etl")
    );
}

#[tokio::test]
async fn bytes_billed_guessed_from_the_minimums_are_marked_estimated() {
    // No totalBytesBilled in the reply, and jobs.get fails: the 10 MiB
    // minimum of 1 KiB read is billed, marked as the guess it is.
    let (_server, bq, logged) = support::fake_bigquery([
        on("POST", QUERIES).respond_with(ok(complete(json!({
            "kind": "bigquery#queryResponse", "totalRows": "0", "rows": [],
            "totalBytesProcessed": "1024", "cacheHit": false
        })))),
        on("GET", JOB).respond_with(reply(
            404,
            json!({"error": {"code": 404, "message": "Not found: Job test-project:job_abc",
                              "errors": [{"message": "Not found", "domain": "global", "reason": "notFound"}],
                              "status": "NOT_FOUND"}}),
        )),
    ])
    .await;
    let result = bq.query("SELECT 1").await.unwrap();
    assert_eq!(result.bytes_billed, 10 << 20);
    assert!(result.billed_estimated);
    let event = logged.lock().unwrap()[0].clone();
    assert_eq!(event.get("estimated"), Some("true"));
    assert_eq!(event.get("bytes_billed"), Some("10485760"));
}
