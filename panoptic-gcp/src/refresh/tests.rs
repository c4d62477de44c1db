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
    let refresh = CatalogRefresh::new(PriceTable::embedded().clone(), today);
    match refresh.targets() {
        Err(error @ RefreshError::NoCatalogSkuIds) => {
            assert!(error.to_string().contains("catalog_sku_id"), "{error}")
        }
        other => panic!("{other:?}"),
    }
}
