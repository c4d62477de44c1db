//! Cost reports: the aggregation runs on the server, and the same query
//! over the spool gives the same rows for the same events.

mod common;

use std::time::Duration;

use panoptic::query::{CostQuery, GroupBy};
use panoptic::{Panoptic, Provider};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_events_same_report_in_mongodb_and_in_the_spool() {
    let port = common::free_port();
    let env = common::unique_env("report");
    let spool_dir = common::temp_dir("report");
    let uri = format!("mongodb://127.0.0.1:{port}/?serverSelectionTimeoutMS=1000");
    let panoptic = Panoptic::builder()
        .username("Report User")
        .env(&env)
        .mongodb_uri(&uri)
        .spool_dir(&spool_dir)
        .server_timeout(Duration::from_millis(300))
        .retry_interval(Duration::from_millis(100))
        .build()
        .unwrap();
    let bq = panoptic.logger(Provider::Gcp, "BigQuery");
    let run = panoptic.logger(Provider::Gcp, "CloudRun");
    let gpt = panoptic.logger(Provider::OpenAi, "ChatCompletions");
    for i in 0..40u32 {
        panoptic::invoice!(bq, "daily_report"; "amount" => "0.0125", "quantity" => 1_000_000u64 + u64::from(i), "duration_ms" => f64::from(i));
        panoptic::invoice!(run, "render"; "amount" => 0.0003, "duration_ms" => f64::from(i % 7), "outcome" => if i % 10 == 0 { "error" } else { "ok" });
    }
    panoptic::token_usage!(gpt, "summarize"; "amount" => "1.5", "quantity" => 1830, "unit" => "tokens");
    // The same group in another currency: a row of its own on both paths.
    panoptic::token_usage!(gpt, "summarize"; "amount" => "2", "currency" => "EUR", "quantity" => 900, "unit" => "tokens");
    assert!(panoptic.flush());
    assert_eq!(panoptic.stats().spooled, 82, "MongoDB is not running yet");

    let queries = [
        CostQuery::new(),
        CostQuery::new()
            .env(&env)
            .group_by([GroupBy::Provider, GroupBy::Service]),
        CostQuery::new().env(&env).group_by([GroupBy::Resource]),
        CostQuery::new()
            .env(&env)
            .provider("gcp")
            .username("Report User")
            .group_by([GroupBy::Day, GroupBy::Service]),
        CostQuery::new()
            .env(&env)
            .service("CloudRun")
            .outcome(panoptic::Outcome::Error),
    ];
    // Only this test's events: the spool holds nothing else.
    let from_spool: Vec<_> = queries
        .iter()
        .map(|q| q.run_on_spool(&panoptic.spool()).unwrap())
        .collect();

    let by_service = &from_spool[1];
    assert_eq!(by_service.len(), 4, "{by_service:?}");
    let chat: Vec<_> = by_service[..2]
        .iter()
        .map(|r| (r.key.join("/"), r.currency.as_str(), r.amount.to_string()))
        .collect();
    assert_eq!(
        chat,
        [
            ("openai/ChatCompletions".to_owned(), "EUR", "2".to_owned()),
            ("openai/ChatCompletions".to_owned(), "USD", "1.5".to_owned()),
        ],
        "two currencies, never one sum of 3.5"
    );
    let bigquery = by_service.iter().find(|r| r.key[1] == "BigQuery").unwrap();
    assert_eq!(bigquery.amount.to_string(), "0.5", "40 x 0.0125, exactly");
    assert_eq!(bigquery.count, 40);
    // Percentiles come from 2 %-wide buckets: within 1 % of 19 and 37.
    let within = |value: Option<f64>, exact: f64| (value.unwrap() / exact - 1.0).abs() < 0.01;
    assert!(within(bigquery.p50_ms, 19.0), "{:?}", bigquery.p50_ms);
    assert!(within(bigquery.p95_ms, 37.0), "{:?}", bigquery.p95_ms);
    let cloud_run = by_service.iter().find(|r| r.key[1] == "CloudRun").unwrap();
    assert_eq!(
        (cloud_run.errors, cloud_run.amount.to_string().as_str()),
        (4, "0.012")
    );
    assert_eq!(from_spool[4][0].count, 4);

    // Now MongoDB comes up; the spool is replayed into it.
    let _server = common::TestServer::start_at(port, common::temp_dir("report-store"));
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while panoptic.stats().replayed < 82 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(panoptic.stats().replayed, 82);
    let client = common::client_for(&uri).await;
    for (query, expected) in queries.iter().zip(&from_spool) {
        let from_mongodb = query.run(&client).await.unwrap();
        assert_eq!(&from_mongodb, expected, "{query:?}");
    }
}

/// The files of `dir` ending in `.{extension}`.
fn files(dir: &std::path::Path, extension: &str) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == extension))
        .collect()
}

/// Many sealed segments written with MongoDB absent, reported on from
/// their summaries (the first report writes them): after the replay, the
/// MongoDB report equals the spool's to the cent, and no summary outlives
/// its replayed segment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spool_reported_from_summaries_equals_mongodb_after_replay() {
    let port = common::free_port();
    let env = common::unique_env("summaries");
    let spool_dir = common::temp_dir("summaries");
    let uri = format!("mongodb://127.0.0.1:{port}/?serverSelectionTimeoutMS=1000");
    let builder = || {
        Panoptic::builder()
            .username("Summary User")
            .env(&env)
            .mongodb_uri(&uri)
            .spool_dir(&spool_dir)
            .spool_segment_bytes(4_096)
            .server_timeout(Duration::from_millis(300))
            .retry_interval(Duration::from_millis(100))
    };
    let panoptic = builder().build().unwrap();
    let loggers = [
        panoptic.logger(Provider::Gcp, "BigQuery"),
        panoptic.logger(Provider::OpenAi, "ChatCompletions"),
        panoptic.logger(Provider::Aws, "S3"),
    ];
    let mut written = 0;
    for i in 0..600u32 {
        let logger = &loggers[i as usize % 3];
        let resource = format!("r{}", i % 7);
        let duration = f64::from(i % 97) * 1.3;
        let outcome = if i % 11 == 0 { "error" } else { "ok" };
        if i % 13 == 0 {
            panoptic::invoice!(logger, "call"; "resource" => resource, "duration_ms" => duration, "outcome" => outcome);
        } else if i % 5 == 0 {
            let amount = format!("0.{:04}", i + 1);
            panoptic::invoice!(logger, "call"; "resource" => resource, "amount" => amount, "currency" => "EUR", "duration_ms" => duration);
        } else {
            let amount = format!("{}.{:06}", i % 3, i * 37 % 1_000_000);
            panoptic::invoice!(logger, "call"; "resource" => resource, "amount" => amount, "quantity" => u64::from(i), "duration_ms" => duration, "outcome" => outcome);
        }
        written += 1;
        // Small batches, so that the spool rotates through many segments.
        if i % 40 == 39 {
            assert!(panoptic.flush());
        }
    }
    assert!(panoptic.flush());
    assert_eq!(
        panoptic.stats().spooled,
        written,
        "MongoDB is not running yet"
    );
    drop(loggers);
    drop(panoptic);
    let segments = files(&spool_dir, "seg");
    assert!(segments.len() > 10, "{} segments", segments.len());

    let now = chrono::Utc::now();
    let queries = [
        CostQuery::new()
            .env(&env)
            .since(now - chrono::Duration::days(30))
            .group_by([GroupBy::Service]),
        CostQuery::new()
            .env(&env)
            .since(now - chrono::Duration::days(30))
            .group_by([GroupBy::Resource]),
        CostQuery::new()
            .env(&env)
            .group_by([GroupBy::Day, GroupBy::Provider, GroupBy::Service]),
        CostQuery::new()
            .env(&env)
            .time_zone(panoptic::query::Tz::Asia__Kolkata)
            .group_by([GroupBy::Hour]),
        CostQuery::new()
            .env(&env)
            .provider("gcp")
            .outcome(panoptic::Outcome::Error)
            .until(now + chrono::Duration::minutes(90))
            .group_by([GroupBy::Hour, GroupBy::User]),
    ];
    let spool = panoptic::Spool::open(&spool_dir);
    let scanned: Vec<_> = queries
        .iter()
        .map(|q| q.run_on_spool_scan(&spool).unwrap())
        .collect();
    for pass in ["summaries written", "summaries read"] {
        for (query, expected) in queries.iter().zip(&scanned) {
            assert_eq!(
                &query.run_on_spool(&spool).unwrap(),
                expected,
                "{pass}: {query:?}"
            );
        }
    }
    assert_eq!(
        files(&spool_dir, "sum").len(),
        segments.len(),
        "one per sealed segment"
    );
    let from_spool: Vec<_> = queries
        .iter()
        .map(|q| q.run_on_spool(&spool).unwrap())
        .collect();
    let total: panoptic::Decimal = from_spool[0].iter().map(|r| r.amount).sum();
    assert!(!total.is_zero());

    // MongoDB comes up; the next process replays the spool into it.
    let _server = common::TestServer::start_at(port, common::temp_dir("summaries-store"));
    let panoptic = builder().build().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while panoptic.stats().replayed < written && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(panoptic.stats().replayed, written);
    drop(panoptic);
    assert!(
        files(&spool_dir, "seg").is_empty(),
        "every segment replayed"
    );
    assert!(
        files(&spool_dir, "sum").is_empty(),
        "summaries deleted with them"
    );
    let client = common::client_for(&uri).await;
    for (query, expected) in queries.iter().zip(&from_spool) {
        assert_eq!(&query.run(&client).await.unwrap(), expected, "{query:?}");
        assert_eq!(
            &query.run_scan(&client).await.unwrap(),
            expected,
            "{query:?}"
        );
    }
}

/// A call of `resource` with id `call_id`: its start record, or its final
/// event, as the writer stores them.
fn call_record(env: &str, call_id: &str, start: bool, minutes_ago: i64) -> panoptic::BillingEvent {
    let mut extra = bson::doc! { "call_id": call_id };
    if start {
        extra.insert("start", true);
    }
    panoptic::BillingEvent {
        id: bson::oid::ObjectId::new(),
        ts: chrono::Utc::now() - chrono::Duration::minutes(minutes_ago),
        project_id: None,
        env: env.to_owned(),
        username: "open".into(),
        category: panoptic::Category::Infra,
        provider: "user_defined".into(),
        service: "Work".into(),
        resource: "step".into(),
        kind: if start {
            panoptic::Kind::Billing
        } else {
            panoptic::Kind::Invoice
        },
        outcome: panoptic::Outcome::Ok,
        quantity: 1.0,
        unit: "call".into(),
        amount: (!start).then(|| panoptic::Decimal::new(1, 2)),
        currency: "USD".into(),
        metadata: panoptic::Metadata {
            extra,
            ..panoptic::Metadata::default()
        },
    }
}

/// 2,500 calls started and 2,000 of them ended: the open calls are the
/// other 500, found on the server (ids asked in chunks, not one query per
/// start record) exactly as over the same events in memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_calls_are_the_starts_no_final_event_carries_on_both_paths() {
    let env = common::unique_env("open_calls");
    let mut events = Vec::new();
    for i in 0..2_500 {
        let id = format!("call-{i}");
        events.push(call_record(&env, &id, true, 60));
        if i % 5 != 0 {
            events.push(call_record(&env, &id, false, 59));
        }
    }
    let collection = common::client()
        .await
        .database(&panoptic::naming::database_name(&env))
        .collection::<bson::Document>("user_defined_open");
    let documents: Vec<bson::Document> = events.iter().map(|e| e.to_document()).collect();
    collection.insert_many(documents).await.unwrap();

    let query = CostQuery::new().env(&env);
    let ids = |calls: Vec<panoptic::open_calls::OpenCall>| {
        let mut ids: Vec<String> = calls.into_iter().map(|c| c.call_id).collect();
        ids.sort();
        ids
    };
    let on_server = ids(
        panoptic::open_calls::open_calls(&common::client().await, &query)
            .await
            .unwrap(),
    );
    let mut expected: Vec<String> = (0..2_500)
        .filter(|i| i % 5 == 0)
        .map(|i| format!("call-{i}"))
        .collect();
    expected.sort();
    assert_eq!(on_server, expected);
    assert_eq!(
        ids(panoptic::open_calls::open_calls_in(&query, &events)),
        expected
    );
}
