//! A client of a fake BigQuery (wiremock), and the replies the fake sends,
//! as the REST API writes them.

use panoptic::gcp::auth::{AuthOptions, Credentials, Secret, TokenSource};
use panoptic::gcp::bigquery::{BigQuery, BigQueryBuilder};
use serde_json::{Value as Json, json};

/// The project every fake job runs in.
pub const PROJECT: &str = "test-project";

/// A client of the fake at `uri` in [`PROJECT`], signed in with `token`.
pub async fn client(uri: &str, token: &str) -> BigQueryBuilder {
    let tokens = TokenSource::new(
        Credentials::AccessToken(Secret::new(token)),
        AuthOptions::default(),
    )
    .await
    .expect("static token source");
    BigQuery::builder(PROJECT)
        .base_url(format!("{uri}/bigquery/v2/"))
        .tokens(tokens)
}

/// A nullable column of a reply's schema: `kind` is BigQuery's type name.
pub fn column(name: &str, kind: &str) -> Json {
    json!({"name": name, "type": kind, "mode": "NULLABLE"})
}

/// A row in BigQuery's f/v form.
pub fn row(cells: &[&str]) -> Json {
    let cells: Vec<Json> = cells.iter().map(|cell| json!({"v": cell})).collect();
    json!({"f": cells})
}

/// The reply to `jobs.query` of the finished job `job_id`: `columns` and
/// `rows` (in f/v form), with the bytes the job processed and billed.
pub fn query_reply(
    job_id: &str,
    columns: Json,
    rows: Vec<Json>,
    processed: u64,
    billed: u64,
) -> Json {
    json!({
        "kind": "bigquery#queryResponse",
        "schema": {"fields": columns},
        "jobReference": {"projectId": PROJECT, "jobId": job_id, "location": "US"},
        "totalRows": rows.len().to_string(),
        "rows": rows,
        "totalBytesProcessed": processed.to_string(),
        "totalBytesBilled": billed.to_string(),
        "jobComplete": true,
        "cacheHit": false
    })
}
