//! A `jobs.query` whose reply is lost after BigQuery created the job (a
//! 503, a dropped connection): the client finds the job again by its
//! `panoptic_run` label and bills it. Fakes answer with the REST API's
//! exact JSON; amounts are worked out here from the public price.

mod support;

use panoptic_gcp::bigquery::BigQuery;
use serde_json::{Value as Json, json};
use support::{QUERIES, column, ok, on, reply};
use wiremock::matchers::query_param;
use wiremock::{MockServer, Request};

fn schema() -> Json {
    json!({"fields": [column("word", "STRING"), column("n", "INTEGER")]})
}

fn row(word: &str, n: i64) -> Json {
    json!({"f": [{"v": word}, {"v": n.to_string()}]})
}

/// `jobs.query` answers 503 every time, yet created the job on the first
/// POST (as BigQuery may): the fake keeps the job under the `panoptic_run`
/// label the POST carried and lists it in `jobs.list`.
async fn lost_reply_fake(listed: bool) -> (MockServer, BigQuery, support::Records) {
    use std::sync::{Arc, Mutex};
    let created: Arc<Mutex<Option<String>>> = Arc::default();
    let record = created.clone();
    let list = created.clone();
    let unavailable = json!({"error": {"code": 503, "message": "The service is currently unavailable.",
        "errors": [{"message": "The service is currently unavailable.", "domain": "global", "reason": "backendError"}],
        "status": "UNAVAILABLE"}});
    let lost = json!({"projectId": "test-project", "jobId": "job_lost", "location": "US"});
    let lost_for_list = lost.clone();
    support::fake_bigquery([
        on("POST", QUERIES)
            .respond_with(move |request: &Request| {
                let body: Json = serde_json::from_slice(&request.body).unwrap();
                let run = body["labels"]["panoptic_run"].as_str().unwrap().to_owned();
                record.lock().unwrap().get_or_insert(run);
                reply(503, unavailable.clone())
            })
            .expect(4),
        on("GET", "/bigquery/v2/projects/test-project/jobs")
            .and(query_param("projection", "full"))
            .respond_with(move |request: &Request| {
                assert!(request.url.query_pairs().any(|(k, _)| k == "minCreationTime"));
                let run = list.lock().unwrap().clone().unwrap();
                let mut jobs = vec![json!({
                    "id": "test-project:US.job_other", "kind": "bigquery#job",
                    "jobReference": {"projectId": "test-project", "jobId": "job_other", "location": "US"},
                    "state": "DONE",
                    "configuration": {"jobType": "QUERY", "labels": {"panoptic_run": "another-run"}},
                    "status": {"state": "DONE"}
                })];
                if listed {
                    jobs.push(json!({
                        "id": "test-project:US.job_lost", "kind": "bigquery#job",
                        "jobReference": lost_for_list.clone(), "state": "DONE",
                        "configuration": {"jobType": "QUERY", "labels": {"panoptic_run": run}},
                        "status": {"state": "DONE"},
                        "statistics": {"creationTime": "1764547200000"}
                    }));
                }
                ok(json!({"kind": "bigquery#jobList", "etag": "x", "jobs": jobs}))
            })
            .expect(1),
        on("GET", "/bigquery/v2/projects/test-project/queries/job_lost")
            .respond_with(ok(json!({
                "kind": "bigquery#getQueryResultsResponse",
                "schema": schema(), "jobReference": lost.clone(), "jobComplete": true,
                "totalRows": "1", "rows": [row("lost", 7)],
                "totalBytesProcessed": "53687091200", "cacheHit": false
            }))),
        on("GET", "/bigquery/v2/projects/test-project/jobs/job_lost")
            .respond_with(ok(json!({
                "kind": "bigquery#job", "jobReference": lost,
                "status": {"state": "DONE"},
                "statistics": {
                    "totalBytesProcessed": "53687091200",
                    "query": {"totalBytesProcessed": "53687091200", "totalBytesBilled": "53687091200", "cacheHit": false}
                }
            }))),
    ])
    .await
}

#[tokio::test]
async fn a_post_that_fails_after_creating_the_job_still_bills_it() {
    let (_server, bq, logged) = lost_reply_fake(true).await;
    let result = bq.query("SELECT word, n FROM t").await.unwrap();
    assert_eq!(result.rows.len(), 1);
    assert_eq!(result.job.as_ref().unwrap().job_id, "job_lost");
    // 50 GiB at the public $6.25 per TiB.
    let expected = rust_decimal::Decimal::from(50u64 << 30) * rust_decimal::Decimal::new(625, 2)
        / rust_decimal::Decimal::from(1u64 << 40);
    let events = logged.lock().unwrap().clone();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].get("job_id"), Some("job_lost"));
    assert_eq!(events[0].get("outcome"), Some("ok"));
    assert_eq!(
        events[0]
            .get("amount")
            .unwrap()
            .parse::<rust_decimal::Decimal>()
            .unwrap(),
        expected
    );
}

#[tokio::test]
async fn a_failed_post_whose_job_is_not_listed_ran_nothing() {
    let (_server, bq, logged) = lost_reply_fake(false).await;
    let error = bq.query("SELECT word, n FROM t").await.unwrap_err();
    assert_eq!(error.api().unwrap().status, 503);
    let events = logged.lock().unwrap().clone();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].get("amount"), Some("0"));
    assert_eq!(events[0].get("job_id"), Some(""));
}

/// A fake BigQuery on a bare socket: it reads each `jobs.query` POST,
/// keeps the job it asked for (by its `panoptic_run` label), and closes
/// the connection without a reply; `jobs.list`, `getQueryResults` and
/// `jobs.get` then answer for that job.
fn dropping_fake() -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::sync::{Arc, Mutex};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let run: Arc<Mutex<Option<String>>> = Arc::default();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let run = run.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut writer = stream;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let mut parts = line.split_whitespace();
                    let (verb, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
                    let mut length = 0;
                    loop {
                        let mut header = String::new();
                        reader.read_line(&mut header).unwrap();
                        if header.trim().is_empty() {
                            break;
                        }
                        if let Some((name, value)) = header.split_once(':')
                            && name.eq_ignore_ascii_case("content-length")
                        {
                            length = value.trim().parse().unwrap();
                        }
                    }
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).unwrap();
                    let path = target.split('?').next().unwrap_or("");
                    let lost = json!({"projectId": "test-project", "jobId": "job_dropped", "location": "US"});
                    let answer = match (verb, path) {
                        ("POST", QUERIES) => {
                            let body: Json = serde_json::from_slice(&body).unwrap();
                            let label = body["labels"]["panoptic_run"].as_str().unwrap().to_owned();
                            run.lock().unwrap().get_or_insert(label);
                            return; // the job exists; the reply never comes
                        }
                        ("GET", "/bigquery/v2/projects/test-project/jobs") => json!({
                            "kind": "bigquery#jobList",
                            "jobs": [{"id": "test-project:US.job_dropped", "jobReference": lost, "state": "RUNNING",
                                      "configuration": {"jobType": "QUERY",
                                                        "labels": {"panoptic_run": run.lock().unwrap().clone()}},
                                      "status": {"state": "RUNNING"}}]
                        }),
                        ("GET", "/bigquery/v2/projects/test-project/queries/job_dropped") => {
                            json!({
                                "kind": "bigquery#getQueryResultsResponse", "schema": schema(),
                                "jobReference": lost, "jobComplete": true, "totalRows": "1",
                                "rows": [row("dropped", 1)], "totalBytesProcessed": "21474836480"
                            })
                        }
                        ("GET", "/bigquery/v2/projects/test-project/jobs/job_dropped") => json!({
                            "kind": "bigquery#job", "jobReference": lost, "status": {"state": "DONE"},
                            "statistics": {"query": {"totalBytesProcessed": "21474836480",
                                                     "totalBytesBilled": "21474836480"}}
                        }),
                        _ => json!({"error": {"code": 404, "message": "not found"}}),
                    };
                    let text = answer.to_string();
                    let reply = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{text}",
                        text.len()
                    );
                    if writer.write_all(reply.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    format!("http://{address}")
}

#[tokio::test]
async fn a_post_whose_connection_drops_after_creating_the_job_still_bills_it() {
    let uri = dropping_fake();
    let (logger, logged) = support::capture();
    let bq = BigQuery::builder("test-project")
        .base_url(format!("{uri}/bigquery/v2/"))
        .tokens(support::static_tokens("test-token").await)
        .retry(support::fast_retry())
        .logger(logger)
        .build()
        .unwrap();
    let result = bq.query("SELECT word, n FROM t").await.unwrap();
    assert_eq!(result.rows.len(), 1);
    // 20 GiB at the public $6.25 per TiB.
    let expected = rust_decimal::Decimal::from(20u64 << 30) * rust_decimal::Decimal::new(625, 2)
        / rust_decimal::Decimal::from(1u64 << 40);
    let event = logged.lock().unwrap()[0].clone();
    assert_eq!(event.get("job_id"), Some("job_dropped"));
    assert_eq!(
        event
            .get("amount")
            .unwrap()
            .parse::<rust_decimal::Decimal>()
            .unwrap(),
        expected
    );
}
