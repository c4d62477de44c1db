//! End to end: a `#[billable]` function runs a BigQuery query against a
//! local fake of the REST API; the real test database then holds the
//! query's invoice (bytes billed, cost from the price table) under the
//! function's name, and the function's own event with no amount, so the
//! query is billed once.

mod common;

use common::fake_bigquery::{self, column, query_reply, row};
use panoptic::gcp::bigquery::{BigQuery, Error, QueryResult};
use panoptic::{Kind, Outcome, billable};
use rust_decimal::Decimal;
use serde_json::json;
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// 1.5 GiB billed: 1.5 / 1024 TiB × $6.25 = $0.0091552734375 exactly.
const BYTES_BILLED: u64 = 1_610_612_736;
const COST: &str = "0.0091552734375";

#[billable(provider = "gcp", service = "BigQuery")]
async fn daily_report(bq: &BigQuery) -> Result<QueryResult, Error> {
    bq.query("SELECT day, SUM(views) AS views FROM site.stats GROUP BY day")
        .await
}

#[tokio::test]
async fn a_billable_query_lands_in_the_database_with_its_bytes_and_cost() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/bigquery/v2/projects/test-project/queries"))
        .and(header("authorization", "Bearer e2e-token"))
        .and(body_partial_json(json!({"useLegacySql": false})))
        .respond_with(ResponseTemplate::new(200).set_body_json(query_reply(
            "job_e2e",
            json!([column("day", "DATE"), column("views", "INTEGER")]),
            vec![row(&["2026-11-25", "1200"]), row(&["2026-11-26", "1350"])],
            1_610_000_000,
            BYTES_BILLED,
        )))
        .expect(1)
        .mount(&server)
        .await;

    let env = common::unique_env("gcp_e2e");
    let guard = common::builder(&env).install().unwrap();
    // No logger given: the client bills through the installed instance's
    // gcp/BigQuery child logger.
    let bq = fake_bigquery::client(&server.uri(), "e2e-token")
        .await
        .build()
        .unwrap();

    let result = daily_report(&bq).await.unwrap();
    assert_eq!(result.total_rows, Some(2));
    assert_eq!(result.bytes_billed, BYTES_BILLED);
    assert!(guard.flush());
    drop(guard);

    let events = common::events(&env, "gcp_john_doe").await;
    let invoice: Vec<_> = events
        .iter()
        .filter(|e| e.metadata.extra.get_str("job_id").is_ok())
        .collect();
    assert_eq!(invoice.len(), 1, "{events:#?}");
    let invoice = invoice[0];
    assert_eq!(invoice.kind, Kind::Invoice);
    assert_eq!(invoice.provider, "gcp");
    assert_eq!(invoice.service, "BigQuery");
    assert_eq!(invoice.resource, "daily_report");
    assert_eq!(invoice.outcome, Outcome::Ok);
    assert_eq!(invoice.unit, "bytes");
    assert_eq!(invoice.quantity, BYTES_BILLED as f64);
    assert_eq!(invoice.amount, Some(COST.parse::<Decimal>().unwrap()));
    assert_eq!(invoice.currency, "USD");
    assert_eq!(invoice.username, "John Doe");
    let extra = &invoice.metadata.extra;
    assert_eq!(extra.get_str("job_id").unwrap(), "job_e2e");
    assert_eq!(extra.get_str("location").unwrap(), "US");
    assert!(!extra.get_bool("cache_hit").unwrap());
    assert_eq!(extra.get_i64("bytes_billed").unwrap(), BYTES_BILLED as i64);
    assert_eq!(extra.get_i64("bytes_processed").unwrap(), 1_610_000_000);
    assert_eq!(extra.get_i64("rows_returned").unwrap(), 2);

    // The function's own event carries its timing but no amount: the
    // query is billed once.
    let call: Vec<_> = events
        .iter()
        .filter(|e| e.metadata.function_name.as_deref() == Some("daily_report"))
        .collect();
    assert_eq!(call.len(), 1, "{events:#?}");
    assert_eq!(call[0].amount, None);
    assert!(call[0].metadata.unpriced().is_some());
    let total: Decimal = events.iter().filter_map(|e| e.amount).sum();
    assert_eq!(total, COST.parse::<Decimal>().unwrap());
}
