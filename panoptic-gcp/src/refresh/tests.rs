//! A refresh against a local fake of the Catalog, written to a real file.

use chrono::NaiveDate;
use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{CatalogRefresh, RefreshError};
use crate::auth::Secret;
use crate::billing_catalog::Catalog;
use crate::pricing::PriceTable;

const SERVICE: &str = "24E6-581D-38E5";
const SKU: &str = "AAAA-1111-BBBB";

fn table() -> PriceTable {
    PriceTable::from_toml(&format!(
        r#"
currency = "USD"

[services.bigquery]
name = "BigQuery"
catalog_id = "{SERVICE}"

[services.bigquery.skus.analysis]
description = "On-demand analysis"
unit = "TiBy"
catalog_sku_id = "{SKU}"

[[services.bigquery.skus.analysis.prices]]
regions = ["us", "eu"]
effective = "2023-07-05"
free_per_month = "1"
tiers = [{{ from = "0", rate = "6.25" }}]
source = "https://cloud.google.com/bigquery/pricing"
checked = "2026-11-26"
"#
    ))
    .unwrap()
}

/// The Catalog's answer: the SKU in `us` now at 7.5 per TiB after 1 free.
async fn fake_catalog() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/v1/services/{SERVICE}/skus")))
        .and(query_param("key", "test-key"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "skus": [{
                "name": format!("services/{SERVICE}/skus/{SKU}"),
                "skuId": SKU,
                "description": "Analysis (US)",
                "category": { "serviceDisplayName": "BigQuery", "resourceFamily": "ApplicationServices",
                              "resourceGroup": "Analysis", "usageType": "OnDemand" },
                "serviceRegions": ["us"],
                "pricingInfo": [{
                    "summary": "",
                    "pricingExpression": {
                        "usageUnit": "TiBy", "usageUnitDescription": "tebibyte",
                        "baseUnit": "By", "baseUnitDescription": "byte",
                        "baseUnitConversionFactor": 1099511627776u64, "displayQuantity": 1,
                        "tieredRates": [
                            { "startUsageAmount": 0, "unitPrice": { "currencyCode": "USD", "units": "0", "nanos": 0 } },
                            { "startUsageAmount": 1, "unitPrice": { "currencyCode": "USD", "units": "7", "nanos": 500_000_000 } }
                        ]
                    },
                    "currencyConversionRate": 1,
                    "effectiveTime": "2026-11-01T00:00:00Z"
                }],
                "serviceProviderName": "Google"
            }]
        })))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn a_changed_price_is_shown_then_written_to_an_override_file() {
    let server = fake_catalog().await;
    let base = format!("{}/v1/", server.uri());
    let catalog = Catalog::builder()
        .base_url(base.clone())
        .api_key(Secret::new("test-key"))
        .build()
        .unwrap();
    let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    let mut refresh = CatalogRefresh::new(table(), today);
    let targets = refresh.targets().unwrap().to_vec();
    assert_eq!(targets.len(), 1);
    assert_eq!(refresh.read(&catalog, &targets[0]).await.unwrap(), 1);
    let changes: Vec<_> = refresh.changes().collect();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].regions, ["us"]);

    let dir = std::env::temp_dir().join(format!("panoptic-gcp-refresh-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("gcp-prices.toml");
    assert_eq!(refresh.write_override(&file, &base).unwrap(), 1);
    let written = PriceTable::from_path(&file).unwrap();
    let prices = &written.services["bigquery"].skus["analysis"].prices;
    let new = prices
        .iter()
        .find(|p| p.effective == NaiveDate::from_ymd_opt(2026, 11, 1).unwrap())
        .unwrap();
    assert_eq!(new.regions, ["us"]);
    assert_eq!(new.tiers[0].rate.normalize().to_string(), "7.5");
    assert_eq!(new.checked, today);
    assert_eq!(
        new.source,
        format!("{}/v1/services/{SERVICE}/skus", server.uri())
    );
    // The old price stays as history.
    assert!(prices.iter().any(|p| p.tiers[0].rate.to_string() == "6.25"));

    // A file in another currency is refused and left as it was.
    let euros = dir.join("euros.toml");
    std::fs::write(&euros, "currency = \"EUR\"\n").unwrap();
    let error = refresh.write_override(&euros, &base).unwrap_err();
    assert!(matches!(error, RefreshError::Currency { .. }), "{error}");
    assert_eq!(
        std::fs::read_to_string(&euros).unwrap(),
        "currency = \"EUR\"\n"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_table_without_catalog_ids_has_nothing_to_compare() {
    let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    let mut table = PriceTable::embedded().clone();
    for sku in table
        .services
        .values_mut()
        .flat_map(|s| s.skus.values_mut())
    {
        sku.catalog_sku_id = None;
        for price in &mut sku.prices {
            price.catalog_sku_id = None;
        }
    }
    let refresh = CatalogRefresh::new(table, today);
    match refresh.targets() {
        Err(error @ RefreshError::NoCatalogSkuIds) => {
            assert!(error.to_string().contains("catalog_sku_id"), "{error}")
        }
        other => panic!("{other:?}"),
    }
}

const FUNCTIONS: &str = "29E7-DA93-CA13";
const INVOCATIONS: &str = "8E10-82EB-6917";
const CPU: &str = "C024-9C10-2A5B";
const MEMORY: &str = "F01C-3EA0-06CD";

/// Cloud Functions (1st gen) as shipped: public prices of
/// cloud.google.com/functions/pricing-1stgen.
fn functions_table() -> PriceTable {
    let sku = |key: &str, unit: &str, id: &str, free: &str, rate: &str, per: &str| {
        format!(
            r#"
[services.cloud_functions.skus.{key}]
description = "{key}"
unit = "{unit}"
catalog_sku_id = "{id}"

[[services.cloud_functions.skus.{key}.prices]]
regions = ["us-central1"]
effective = "2020-01-01"
free_per_month = "{free}"
tiers = [{{ from = "0", rate = "{rate}", per = "{per}" }}]
source = "https://cloud.google.com/functions/pricing-1stgen"
checked = "2026-11-26"
"#
        )
    };
    PriceTable::from_toml(&format!(
        "currency = \"USD\"\n\n[services.cloud_functions]\nname = \"Cloud Functions\"\n\
         catalog_id = \"{FUNCTIONS}\"\n{}{}{}",
        sku(
            "invocations",
            "count",
            INVOCATIONS,
            "2000000",
            "0.40",
            "1000000"
        ),
        sku("cpu", "GHz.s", CPU, "200000", "0.0000100", "1"),
        sku("memory", "GiBy.s", MEMORY, "400000", "0.0000025", "1"),
    ))
    .unwrap()
}

/// A SKU as `services.skus.list` returns it, under the service's new name.
fn renamed_sku(
    id: &str,
    description: &str,
    unit: &str,
    tiers: serde_json::Value,
    aggregation: &str,
) -> serde_json::Value {
    json!({
        "name": format!("services/{FUNCTIONS}/skus/{id}"),
        "skuId": id,
        "description": description,
        "category": { "serviceDisplayName": "Cloud Run functions", "resourceFamily": "Compute",
                      "resourceGroup": "CloudFunctions", "usageType": "OnDemand" },
        "serviceRegions": ["us-central1"],
        "pricingInfo": [{
            "summary": "",
            "pricingExpression": {
                "usageUnit": unit, "usageUnitDescription": unit, "baseUnit": unit,
                "baseUnitDescription": unit, "baseUnitConversionFactor": 1, "displayQuantity": 1,
                "tieredRates": tiers
            },
            "aggregationInfo": { "aggregationLevel": "ACCOUNT", "aggregationInterval": aggregation,
                                 "aggregationCount": 1 },
            "currencyConversionRate": 1,
            "effectiveTime": "2026-10-01T00:00:00Z"
        }],
        "serviceProviderName": "Google"
    })
}

fn usd(units: &str, nanos: i64) -> serde_json::Value {
    json!({ "currencyCode": "USD", "units": units, "nanos": nanos })
}

#[tokio::test]
async fn the_catalog_as_it_really_answers_free_tiers_renames_seconds_and_daily_tiers() {
    let server = MockServer::start().await;
    // Invocations: the first 2,000,000 a month stated as a $0 tier, then
    // $0.0000005 each (a made-up change from $0.40 per million).
    let invocations = renamed_sku(
        INVOCATIONS,
        "Cloud Run functions (1st Gen) Invocations",
        "count",
        json!([
            { "startUsageAmount": 0, "unitPrice": usd("0", 0) },
            { "startUsageAmount": 2000000, "unitPrice": usd("0", 500) }
        ]),
        "MONTHLY",
    );
    // CPU now in seconds, where the table says GHz-seconds.
    let cpu = renamed_sku(
        CPU,
        "Cloud Run functions (1st Gen) CPU Time (Request-based billing)",
        "s",
        json!([
            { "startUsageAmount": 0, "unitPrice": usd("0", 0) },
            { "startUsageAmount": 200000, "unitPrice": usd("0", 24000) }
        ]),
        "MONTHLY",
    );
    // Memory with its free tier counted per day.
    let memory = renamed_sku(
        MEMORY,
        "Cloud Run functions (1st Gen) Memory Time",
        "GiBy.s",
        json!([
            { "startUsageAmount": 0, "unitPrice": usd("0", 0) },
            { "startUsageAmount": 13000, "unitPrice": usd("0", 3000) }
        ]),
        "DAILY",
    );
    Mock::given(method("GET"))
        .and(path(format!("/v1/services/{FUNCTIONS}/skus")))
        .and(query_param("key", "test-key"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "skus": [invocations, cpu, memory], "nextPageToken": ""
        })))
        .mount(&server)
        .await;
    let base = format!("{}/v1/", server.uri());
    let catalog = Catalog::builder()
        .base_url(base.clone())
        .api_key(Secret::new("test-key"))
        .build()
        .unwrap();
    let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    let mut refresh = CatalogRefresh::new(functions_table(), today);
    let targets = refresh.targets().unwrap().to_vec();
    assert_eq!(refresh.read(&catalog, &targets[0]).await.unwrap(), 3);

    // Only the invocations change; the $0 tier is the free allowance.
    let changes: Vec<_> = refresh.changes().collect();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0].sku, "invocations");
    assert_eq!(changes[0].new.1, "2000000".parse().unwrap());
    assert_eq!(changes[0].new.0.len(), 1);
    assert!(!changes[0].new.0[0].rate.is_zero());

    let skipped: Vec<_> = refresh.skipped().collect();
    let reason = |sku: &str| {
        skipped
            .iter()
            .find(|(name, _)| name == &format!("cloud_functions/{sku}"))
            .map(|(_, why)| why.clone())
            .unwrap_or_else(|| panic!("{sku} not flagged: {skipped:?}"))
    };
    assert!(reason("cpu").contains("GHz.s") && reason("cpu").contains("not converted"));
    assert!(reason("memory").contains("DAILY") && reason("memory").contains("aggregationInfo"));
    assert!(
        refresh
            .notes()
            .any(|(_, note)| note.contains("Cloud Run functions") && note.contains("matched by id")),
        "the rename is said"
    );

    let dir =
        std::env::temp_dir().join(format!("panoptic-gcp-refresh-real-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("gcp-prices.toml");
    assert_eq!(refresh.write_override(&file, &base).unwrap(), 1);
    let override_file = PriceTable::from_path(&file).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    // The override holds only what changed: CPU and memory stay as shipped.
    let skus = &override_file.services["cloud_functions"].skus;
    assert_eq!(skus.keys().collect::<Vec<_>>(), ["invocations"]);
    let mut written = functions_table();
    written.merge(override_file);
    let calc = crate::pricing::Calculator::new(written).on(today);
    // 3,000,000 invocations in a month: 2,000,000 free, 1,000,000 × $0.0000005.
    let month = calc
        .charge(
            "cloud_functions",
            "invocations",
            "us-central1",
            "3000000".parse().unwrap(),
            crate::pricing::FreeTier::WHOLE_MONTH,
        )
        .unwrap();
    assert_eq!(month.amount, "0.5".parse().unwrap());
    // The free allowance is never charged: 1,000,000 within it cost nothing.
    let within = calc
        .charge(
            "cloud_functions",
            "invocations",
            "us-central1",
            "1000000".parse().unwrap(),
            crate::pricing::FreeTier::WHOLE_MONTH,
        )
        .unwrap();
    assert!(within.amount.is_zero());
}
