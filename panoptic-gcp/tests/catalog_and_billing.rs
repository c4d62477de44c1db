//! The Cloud Billing Catalog client and the billing-export connector
//! against local fakes.

mod support;

use chrono::NaiveDate;
use panoptic_gcp::billing::BillingExport;
use panoptic_gcp::billing_catalog::{self, Catalog};
use panoptic_gcp::pricing::{Calculator, FreeTier, PriceTable};
use rust_decimal::Decimal;
use serde_json::{Value as Json, json};
use support::{QUERIES, column, ok, on, reply, serve, with_fields};
use wiremock::MockServer;
use wiremock::matchers::{header, query_param, query_param_is_missing};

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

async fn catalog(server: &MockServer) -> Catalog {
    Catalog::builder()
        .base_url(format!("{}/v1/", server.uri()))
        .tokens(support::static_tokens("catalog-token").await)
        .page_size(2)
        .build()
        .unwrap()
}

#[tokio::test]
async fn services_list_follows_next_page_token() {
    let server = serve([
        on("GET", "/v1/services")
            .and(header("authorization", "Bearer catalog-token"))
            .and(query_param("pageSize", "2"))
            .and(query_param_is_missing("pageToken"))
            .respond_with(ok(json!({
                "services": [
                    {"name": "services/24E6-581D-38E5", "serviceId": "24E6-581D-38E5", "displayName": "BigQuery", "businessEntityName": "businessEntities/GCP"},
                    {"name": "services/152E-C115-5142", "serviceId": "152E-C115-5142", "displayName": "Cloud Run", "businessEntityName": "businessEntities/GCP"}
                ],
                "nextPageToken": "svc-page-2"
            })))
            .expect(1),
        on("GET", "/v1/services")
            .and(query_param("pageToken", "svc-page-2"))
            .respond_with(ok(json!({
                "services": [
                    {"name": "services/95FF-2EF5-5EA1", "serviceId": "95FF-2EF5-5EA1", "displayName": "Cloud Storage", "businessEntityName": "businessEntities/GCP"}
                ],
                "nextPageToken": ""
            })))
            .expect(1),
    ])
    .await;
    let services = catalog(&server).await.services().await.unwrap();
    let names: Vec<&str> = services.iter().map(|s| s.display_name.as_str()).collect();
    assert_eq!(names, ["BigQuery", "Cloud Run", "Cloud Storage"]);
    assert_eq!(services[0].service_id, "24E6-581D-38E5");
}

/// A SKU as `skus.list` returns it: its name, id and description, and
/// `fields` (category, regions, pricing…).
fn catalog_sku(service_id: &str, sku_id: &str, description: &str, fields: Json) -> Json {
    let sku = json!({
        "name": format!("services/{service_id}/skus/{sku_id}"),
        "skuId": sku_id,
        "description": description,
    });
    with_fields(sku, fields)
}

fn analysis_sku() -> Json {
    catalog_sku(
        "24E6-581D-38E5",
        "3362-E469-6BEF",
        "Analysis (US)",
        json!({
            "category": {"serviceDisplayName": "BigQuery", "resourceFamily": "ApplicationServices", "resourceGroup": "Analysis", "usageType": "OnDemand"},
            "serviceRegions": ["us"],
            "pricingInfo": [{
                "summary": "",
                "pricingExpression": {
                    "usageUnit": "TiBy", "displayQuantity": 1, "usageUnitDescription": "tebibyte",
                    "baseUnit": "By", "baseUnitDescription": "byte", "baseUnitConversionFactor": 1099511627776.0,
                    "tieredRates": [
                        {"startUsageAmount": 0, "unitPrice": {"currencyCode": "USD", "units": "0", "nanos": 0}},
                        {"startUsageAmount": 1, "unitPrice": {"currencyCode": "USD", "units": "7", "nanos": 500000000}}
                    ]
                },
                "aggregationInfo": {"aggregationLevel": "ACCOUNT", "aggregationInterval": "MONTHLY", "aggregationCount": 1},
                "currencyConversionRate": 1,
                "effectiveTime": "2026-11-01T00:00:00Z"
            }],
            "serviceProviderName": "Google",
            "geoTaxonomy": {"type": "MULTI_REGIONAL", "regions": ["us-central1", "us-east1"]}
        }),
    )
}

fn requests_sku() -> Json {
    catalog_sku(
        "152E-C115-5142",
        "8BA2-9BC6-5C3A",
        "Requests",
        json!({
            "category": {"serviceDisplayName": "Cloud Run", "resourceFamily": "Compute", "resourceGroup": "Requests", "usageType": "OnDemand"},
            "serviceRegions": ["global"],
            "pricingInfo": [{
                "pricingExpression": {
                    "usageUnit": "count", "displayQuantity": 1000000,
                    "tieredRates": [
                        {"startUsageAmount": 0, "unitPrice": {"currencyCode": "USD", "nanos": 0}},
                        {"startUsageAmount": 2000000, "unitPrice": {"currencyCode": "USD", "nanos": 400}}
                    ]
                },
                "effectiveTime": "2024-01-01T08:00:00Z"
            }]
        }),
    )
}

#[tokio::test]
async fn skus_list_follows_pages_and_converts_to_the_price_table() {
    const SKUS: &str = "/v1/services/24E6-581D-38E5/skus";
    let server = serve([
        on("GET", SKUS)
            .and(query_param_is_missing("pageToken"))
            .respond_with(ok(
                json!({"skus": [analysis_sku()], "nextPageToken": "sku-page-2"}),
            ))
            .expect(1),
        on("GET", SKUS)
            .and(query_param("pageToken", "sku-page-2"))
            .respond_with(ok(json!({"skus": [requests_sku()]})))
            .expect(1),
    ])
    .await;
    let skus = catalog(&server).await.skus("24E6-581D-38E5").await.unwrap();
    assert_eq!(skus.len(), 2);

    let sku = skus[0].to_sku("src", day("2026-11-26")).unwrap();
    assert_eq!(sku.unit, "TiBy");
    assert_eq!(sku.prices[0].regions, ["us"]);
    assert_eq!(sku.prices[0].effective, day("2026-11-01"));
    assert_eq!(sku.prices[0].free_per_month, Decimal::ONE);
    assert_eq!(sku.prices[0].tiers[0].rate.to_string(), "7.5");
    let requests = skus[1].to_sku("src", day("2026-11-26")).unwrap();
    assert_eq!(requests.prices[0].free_per_month, Decimal::from(2_000_000));
    assert_eq!(requests.prices[0].tiers[0].rate.to_string(), "0.0000004");

    // Refreshing the shipped table: the matching SKU takes the new price
    // from its effective date; older dates keep the old one.
    let mut table = PriceTable::embedded().clone();
    // The shipped US figure names its own Catalog id: the test's replaces it.
    let analysis = table.sku_mut("bigquery", "analysis").unwrap();
    let us = analysis
        .prices
        .iter_mut()
        .find(|p| p.regions == ["us"])
        .unwrap();
    us.catalog_sku_id = Some("3362-E469-6BEF".into());
    let service = billing_catalog::CatalogService {
        service_id: "24E6-581D-38E5".into(),
        display_name: "BigQuery".into(),
        ..Default::default()
    };
    let changed = billing_catalog::refresh(
        &mut table,
        "bigquery",
        &service,
        &skus[..1],
        day("2026-11-26"),
    )
    .unwrap();
    assert_eq!(changed, 1);
    let tib = 1u64 << 40;
    let now = Calculator::new(table.clone()).on(day("2026-11-26"));
    assert_eq!(
        now.bigquery_bytes("US", tib, FreeTier::ListPrice)
            .unwrap()
            .amount
            .to_string(),
        "7.5"
    );
    let before = Calculator::new(table.clone()).on(day("2026-10-31"));
    assert_eq!(
        before
            .bigquery_bytes("US", tib, FreeTier::ListPrice)
            .unwrap()
            .amount
            .to_string(),
        "6.25"
    );
    // The refreshed table survives a TOML round trip.
    assert_eq!(
        PriceTable::from_toml(&table.to_toml().unwrap()).unwrap(),
        table
    );
}

#[tokio::test]
async fn a_refresh_plans_changes_by_sku_id_checking_units_and_currency() {
    const SKUS: &str = "/v1/services/24E6-581D-38E5/skus";
    let mut eur = analysis_sku();
    eur["skuId"] = json!("EEEE-0000-0001");
    eur["pricingInfo"][0]["pricingExpression"]["tieredRates"][1]["unitPrice"]["currencyCode"] =
        json!("EUR");
    let mut gib = analysis_sku();
    gib["skuId"] = json!("GGGG-0000-0002");
    gib["pricingInfo"][0]["pricingExpression"]["usageUnit"] = json!("GiBy");
    let server = serve([on("GET", SKUS)
        .respond_with(ok(
            json!({"skus": [analysis_sku(), eur, gib], "nextPageToken": ""}),
        ))
        .expect(1)])
    .await;
    let skus = catalog(&server).await.skus("24E6-581D-38E5").await.unwrap();

    let mut table = PriceTable::embedded().clone();
    let analysis = table.sku_mut("bigquery", "analysis").unwrap();
    analysis.prices[0].catalog_sku_id = Some("3362-E469-6BEF".into());
    let mut eu = analysis.prices[0].clone();
    eu.regions = vec!["eu".into()];
    eu.catalog_sku_id = Some("EEEE-0000-0001".into());
    let mut other = eu.clone();
    other.regions = vec!["us-west1".into()];
    other.catalog_sku_id = Some("GGGG-0000-0002".into());
    analysis.prices.extend([eu, other]);
    let before = table.clone();

    let plan = billing_catalog::plan_refresh(&table, "bigquery", &skus, day("2026-11-26")).unwrap();
    // Planning writes nothing.
    assert_eq!(table, before);
    assert_eq!(plan.changes.len(), 1, "{plan:?}");
    let change = &plan.changes[0];
    assert_eq!(change.catalog_sku_id, "3362-E469-6BEF");
    // The Catalog SKU names `us`: only that region of the shipped list changes.
    assert_eq!(change.regions, ["us"]);
    assert_eq!(change.new.0[0].rate.to_string(), "7.5");
    assert_eq!(change.new.1, Decimal::ONE);
    assert!(change.to_string().contains("6.25") && change.to_string().contains("7.5"));
    let reasons: Vec<&str> = plan.skipped.iter().map(|(_, r)| r.as_str()).collect();
    assert!(reasons.iter().any(|r| r.contains("EUR")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("`GiBy`")), "{reasons:?}");

    plan.apply(&mut table, "src", day("2026-11-26"));
    let tib = 1u64 << 40;
    let now = Calculator::new(table.clone()).on(day("2026-11-26"));
    let list = |region: &str| {
        now.bigquery_bytes(region, tib, FreeTier::ListPrice)
            .unwrap()
            .amount
            .to_string()
    };
    assert_eq!(list("US"), "7.5");
    assert_eq!(list("us-central1"), "6.25");
    assert_eq!(list("EU"), "6.25");
    // Same price again: nothing to do.
    let again =
        billing_catalog::plan_refresh(&table, "bigquery", &skus, day("2026-11-27")).unwrap();
    assert!(again.changes.is_empty(), "{again:?}");
}

#[test]
fn a_first_tier_above_zero_is_free_usage() {
    let sku: billing_catalog::CatalogSku = serde_json::from_value(json!({
        "skuId": "AAAA-BBBB-CCCC", "description": "Requests", "serviceRegions": ["global"],
        "pricingInfo": [{"effectiveTime": "2026-01-01T08:00:00Z", "pricingExpression": {
            "usageUnit": "count", "displayQuantity": 1000000,
            "tieredRates": [{"startUsageAmount": 2000000, "unitPrice": {"currencyCode": "USD", "units": "0", "nanos": 400}}]}}]
    }))
    .unwrap();
    let entry = sku.to_sku("src", day("2026-11-26")).unwrap();
    assert_eq!(entry.prices[0].free_per_month, Decimal::from(2_000_000));
    assert_eq!(entry.prices[0].tiers[0].rate.to_string(), "0.0000004");
}

#[tokio::test]
async fn catalog_errors_are_typed() {
    let not_found = json!({
        "error": {"code": 404, "message": "Service not found: nope", "status": "NOT_FOUND"}
    });
    let server =
        serve([on("GET", "/v1/services/nope/skus").respond_with(reply(404, not_found))]).await;
    let err = catalog(&server).await.skus("nope").await.unwrap_err();
    let api = err.api().unwrap();
    assert_eq!((api.status, api.reason.as_str()), (404, "NOT_FOUND"));
}

#[tokio::test]
async fn billing_export_costs_are_daily_per_service_with_credits() {
    let credit = |kind: &str, amount: &str| json!({"v": {"f": [{"v": kind}, {"v": amount}]}});
    let (server, bq, logged) = support::fake_bigquery([on("POST", QUERIES)
        .respond_with(ok(json!({
            "kind": "bigquery#queryResponse",
            "schema": {"fields": [
                column("date", "DATE"),
                column("invoice_month", "STRING"),
                column("cost_type", "STRING"),
                column("service_id", "STRING"),
                column("service", "STRING"),
                column("sku_id", "STRING"),
                column("sku", "STRING"),
                column("cost", "NUMERIC"),
                column("cost_at_list", "NUMERIC"),
                column("credits", "NUMERIC"),
                {"name": "credits_by_type", "type": "RECORD", "mode": "REPEATED",
                 "fields": [column("type", "STRING"), column("amount", "NUMERIC")]},
                column("currency", "STRING")
            ]},
            "jobReference": {"projectId": "test-project", "jobId": "job_bill", "location": "US"},
            "totalRows": "2",
            "rows": [
                {"f": [{"v": "2026-11-01"}, {"v": "202611"}, {"v": "regular"}, {"v": "24E6-581D-38E5"}, {"v": "BigQuery"},
                       {"v": "3362-E469-6BEF"}, {"v": "Analysis"}, {"v": "12.5"}, {"v": "13"}, {"v": "-2.25"},
                       {"v": [credit("FREE_TIER", "-2"), credit("PROMOTION", "-0.25")]}, {"v": "USD"}]},
                {"f": [{"v": "2026-11-01"}, {"v": "202611"}, {"v": "regular"}, {"v": "152E-C115-5142"}, {"v": "Cloud Run"},
                       {"v": null}, {"v": null}, {"v": "0.000024"}, {"v": "0.000024"}, {"v": "0"}, {"v": []}, {"v": "USD"}]}
            ],
            "totalBytesProcessed": "52428800",
            "totalBytesBilled": "52428800",
            "jobComplete": true,
            "cacheHit": false
        })))
        .expect(1)]).await;
    let export = BillingExport::new(
        bq,
        "test-project.billing.gcp_billing_export_v1_01AB23_CD45EF_678901",
    )
    .unwrap()
    .by_sku(true)
    .location("US");
    let costs = export
        .costs(day("2026-11-01"), day("2026-11-02"))
        .await
        .unwrap();
    assert_eq!(costs.len(), 2);
    assert_eq!(costs[0].service, "BigQuery");
    assert_eq!(costs[0].service_id, "24E6-581D-38E5");
    assert_eq!(costs[0].sku_id.as_deref(), Some("3362-E469-6BEF"));
    assert_eq!(costs[0].invoice_month, "202611");
    assert_eq!(costs[0].cost_type, "regular");
    assert_eq!(costs[0].cost.to_string(), "12.5");
    assert_eq!(costs[0].cost_at_list.to_string(), "13");
    assert_eq!(costs[0].credit("FREE_TIER").to_string(), "-2");
    assert_eq!(costs[0].credit("PROMOTION").to_string(), "-0.25");
    assert_eq!(costs[0].net().to_string(), "10.25");
    assert_eq!(costs[1].sku, None);
    assert!(costs[1].credits_by_type.is_empty());
    assert_eq!(costs[1].date, day("2026-11-01"));

    let request = &server.received_requests().await.unwrap()[0];
    let body: Json = serde_json::from_slice(&request.body).unwrap();
    let sql = body["query"].as_str().unwrap();
    assert!(
        sql.contains("FROM `test-project.billing.gcp_billing_export_v1_01AB23_CD45EF_678901`"),
        "{sql}"
    );
    // Only the partitions that can hold the days (and late rows) are read.
    assert!(
        sql.contains("_PARTITIONTIME >= TIMESTAMP(DATE_SUB(@start"),
        "{sql}"
    );
    assert!(
        sql.contains("_PARTITIONTIME < TIMESTAMP(DATE_ADD(@end, INTERVAL @late_days"),
        "{sql}"
    );
    // Pacific-time days, invoice month, cost type, list cost, credit types, SKU ids.
    assert!(
        sql.contains("DATE(usage_start_time, 'America/Los_Angeles')"),
        "{sql}"
    );
    assert!(
        sql.contains("TIMESTAMP(@start, 'America/Los_Angeles')"),
        "{sql}"
    );
    for part in [
        "invoice.month",
        "cost_type",
        "cost_at_list",
        "c.type",
        "sku.id AS sku_id",
        "service.id AS service_id",
    ] {
        assert!(sql.contains(part), "{part}: {sql}");
    }
    for group_by in sql.split("GROUP BY").skip(1) {
        let keys = group_by.split(')').next().unwrap();
        assert!(
            !keys.contains("description") && !keys.contains(" sku,"),
            "{keys}"
        );
    }
    assert!(!sql.contains("2026-11-01"), "{sql}");
    assert_eq!(body["parameterMode"], "NAMED");
    assert_eq!(
        body["queryParameters"][0]["parameterValue"]["value"],
        "2026-11-01"
    );
    assert_eq!(body["queryParameters"][1]["parameterType"]["type"], "DATE");
    assert_eq!(body["queryParameters"][2]["name"], "late_days");
    assert_eq!(body["queryParameters"][2]["parameterValue"]["value"], "3");
    assert_eq!(body["location"], "US");
    // The export query is itself billed, under its own resource name.
    let event = &logged.lock().unwrap()[0];
    assert_eq!(event.get("resource"), Some("billing_export_costs"));
    assert_eq!(event.get("bytes_billed"), Some("52428800"));
}

#[test]
#[allow(deprecated)]
fn the_old_module_name_still_works_for_now() {
    let _: fn() -> panoptic_gcp::catalog::CatalogBuilder = panoptic_gcp::catalog::Catalog::builder;
}
