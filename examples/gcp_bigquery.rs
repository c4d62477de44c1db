//! A billed BigQuery query.
//!
//! ```text
//! cargo run --example gcp_bigquery --features gcp
//! ```
//!
//! With Google credentials (`GOOGLE_APPLICATION_CREDENTIALS`, or gcloud's
//! `application_default_credentials.json`) and `GOOGLE_CLOUD_PROJECT` set,
//! it queries a public dataset on Google (a few MB billed). Otherwise it
//! starts a local fake of the BigQuery REST API and queries that: the code
//! below differs only by the base URL. Events go to MongoDB at
//! `MONGODB_URI` (default localhost); with none running they wait in
//! panoptic's local spool.

use std::path::PathBuf;

use panoptic::gcp::auth::{AuthOptions, Credentials, Secret, TokenSource};
use panoptic::gcp::bigquery::{BigQuery, Error, Query, QueryParameter, QueryResult};
use panoptic::{Panoptic, billable};

#[derive(Debug, serde::Deserialize)]
struct WordCount {
    word: String,
    count: i64,
}

/// The query is billed under this function's name (`top_words`).
#[billable(provider = "gcp", service = "BigQuery")]
async fn top_words(bq: &BigQuery, corpus: &str) -> Result<QueryResult, Error> {
    bq.query(
        Query::new(
            "SELECT word, SUM(word_count) AS count \
             FROM `bigquery-public-data.samples.shakespeare` \
             WHERE corpus = @corpus GROUP BY word ORDER BY count DESC LIMIT 5",
        )
        .param(QueryParameter::string("corpus", corpus))
        .maximum_bytes_billed(100 << 20)
        .location("US"),
    )
    .await
}

fn google_configured() -> Option<String> {
    let project = std::env::var("GOOGLE_CLOUD_PROJECT")
        .ok()
        .filter(|p| !p.is_empty())?;
    let key = std::env::var_os("GOOGLE_APPLICATION_CREDENTIALS").is_some();
    let gcloud = std::env::var_os("HOME")
        .map(|home| PathBuf::from(home).join(".config/gcloud/application_default_credentials.json"))
        .is_some_and(|f| f.is_file());
    (key || gcloud).then_some(project)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let guard = Panoptic::builder()
        .username("example_user")
        .project("panoptic-examples")
        .env("dev")
        .install()?;

    // Kept alive until the end of main when used.
    let mut _fake = None;
    let bq = match google_configured() {
        Some(project) => {
            println!("querying Google BigQuery in project {project}");
            let tokens = TokenSource::application_default(AuthOptions::default()).await?;
            BigQuery::builder(project).tokens(tokens).build()?
        }
        None => {
            let server = fake::start().await;
            println!(
                "no Google credentials: querying a local fake at {}",
                server.uri()
            );
            let tokens = TokenSource::new(
                Credentials::AccessToken(Secret::new("fake-token")),
                AuthOptions::default(),
            )
            .await?;
            let bq = BigQuery::builder("panoptic-examples")
                .base_url(format!("{}/bigquery/v2/", server.uri()))
                .tokens(tokens)
                .build()?;
            _fake = Some(server);
            bq
        }
    };

    let result = top_words(&bq, "hamlet").await?;
    for row in result.deserialize::<WordCount>()? {
        println!("{:>8}  {}", row.count, row.word);
    }
    println!(
        "{} bytes billed, cost ${} (cache hit: {})",
        result.bytes_billed,
        result
            .cost
            .map_or_else(|| "?".to_owned(), |c| c.to_string()),
        result.cache_hit
    );
    drop(guard); // flushes the billing events
    Ok(())
}

/// A local stand-in for BigQuery answering with the REST API's JSON.
mod fake {
    use serde_json::json;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    pub async fn start() -> MockServer {
        let server = MockServer::start().await;
        let row = |w: &str, c: i64| json!({"f": [{"v": w}, {"v": c.to_string()}]});
        Mock::given(method("POST"))
            .and(path("/bigquery/v2/projects/panoptic-examples/queries"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "kind": "bigquery#queryResponse",
                "schema": {"fields": [
                    {"name": "word", "type": "STRING", "mode": "NULLABLE"},
                    {"name": "count", "type": "INTEGER", "mode": "NULLABLE"}
                ]},
                "jobReference": {"projectId": "panoptic-examples", "jobId": "job_example", "location": "US"},
                "totalRows": "5",
                "rows": [row("the", 1136), row("and", 969), row("to", 731), row("of", 671), row("I", 573)],
                "totalBytesProcessed": "2654856",
                "totalBytesBilled": "10485760",
                "jobComplete": true,
                "cacheHit": false
            })))
            .mount(&server)
            .await;
        server
    }
}
