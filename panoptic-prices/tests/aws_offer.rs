//! Refreshing AWS figures from an offer file with the real bulk-API shape.

use std::str::FromStr;

use chrono::NaiveDate;
use panoptic_prices::aws_offer::{self, OfferFile};
use panoptic_prices::{PriceBook, Usage};
use rust_decimal::Decimal;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

/// A cut-down AWSLambda us-east-1 offer file. The Arm GB-second rate moved
/// (0.0000133334 → 0.0000123456), its second tier is listed first, the x86
/// GB-second unit is not the one the book expects, `Request` is unchanged,
/// and the free tier has its own usage type.
const OFFER: &str = r#"{
  "formatVersion" : "v1.0",
  "disclaimer" : "This pricing list is for informational purposes only.",
  "offerCode" : "AWSLambda",
  "version" : "20261120000000",
  "publicationDate" : "2026-11-20T00:00:00Z",
  "products" : {
    "ARMGBS0000000001" : {
      "sku" : "ARMGBS0000000001",
      "productFamily" : "Serverless",
      "attributes" : {
        "servicecode" : "AWSLambda",
        "location" : "US East (N. Virginia)",
        "locationType" : "AWS Region",
        "group" : "AWS-Lambda-Duration-ARM",
        "usagetype" : "Lambda-GB-Second-ARM",
        "operation" : "",
        "regionCode" : "us-east-1",
        "servicename" : "AWS Lambda"
      }
    },
    "X86GBS0000000001" : {
      "sku" : "X86GBS0000000001",
      "productFamily" : "Serverless",
      "attributes" : {
        "servicecode" : "AWSLambda",
        "location" : "US East (N. Virginia)",
        "group" : "AWS-Lambda-Duration",
        "usagetype" : "Lambda-GB-Second",
        "regionCode" : "us-east-1"
      }
    },
    "GU2ZS9HVP6QTQ7KE" : {
      "sku" : "GU2ZS9HVP6QTQ7KE",
      "productFamily" : "Serverless",
      "attributes" : {
        "servicecode" : "AWSLambda",
        "location" : "US East (N. Virginia)",
        "group" : "AWS-Lambda-Requests",
        "usagetype" : "Request",
        "regionCode" : "us-east-1"
      }
    },
    "FREEREQ000000001" : {
      "sku" : "FREEREQ000000001",
      "productFamily" : "Serverless",
      "attributes" : {
        "servicecode" : "AWSLambda",
        "location" : "Any",
        "usagetype" : "Global-Request"
      }
    }
  },
  "terms" : {
    "OnDemand" : {
      "ARMGBS0000000001" : {
        "ARMGBS0000000001.JRTCKXETXF" : {
          "offerTermCode" : "JRTCKXETXF",
          "sku" : "ARMGBS0000000001",
          "effectiveDate" : "2026-11-01T00:00:00Z",
          "priceDimensions" : {
            "ARMGBS0000000001.JRTCKXETXF.0000000001" : {
              "rateCode" : "ARMGBS0000000001.JRTCKXETXF.0000000001",
              "description" : "AWS Lambda - Total Compute (Arm) - next 11.25 billion GB-seconds",
              "beginRange" : "7500000000",
              "endRange" : "18750000000",
              "unit" : "Lambda-GB-Second",
              "pricePerUnit" : { "USD" : "0.0000120001" },
              "appliesTo" : [ ]
            },
            "ARMGBS0000000001.JRTCKXETXF.0000000002" : {
              "rateCode" : "ARMGBS0000000001.JRTCKXETXF.0000000002",
              "description" : "AWS Lambda - Total Compute (Arm) - first 7.5 billion GB-seconds",
              "beginRange" : "0",
              "endRange" : "7500000000",
              "unit" : "Lambda-GB-Second",
              "pricePerUnit" : { "USD" : "0.0000123456" },
              "appliesTo" : [ ]
            }
          },
          "termAttributes" : { }
        }
      },
      "X86GBS0000000001" : {
        "X86GBS0000000001.JRTCKXETXF" : {
          "offerTermCode" : "JRTCKXETXF",
          "sku" : "X86GBS0000000001",
          "effectiveDate" : "2026-11-01T00:00:00Z",
          "priceDimensions" : {
            "X86GBS0000000001.JRTCKXETXF.6YS6EN2CT7" : {
              "rateCode" : "X86GBS0000000001.JRTCKXETXF.6YS6EN2CT7",
              "description" : "AWS Lambda - Total Compute - first tier",
              "beginRange" : "0",
              "endRange" : "6000000000",
              "unit" : "Second",
              "pricePerUnit" : { "USD" : "0.0000166667" },
              "appliesTo" : [ ]
            }
          },
          "termAttributes" : { }
        }
      },
      "GU2ZS9HVP6QTQ7KE" : {
        "GU2ZS9HVP6QTQ7KE.JRTCKXETXF" : {
          "offerTermCode" : "JRTCKXETXF",
          "sku" : "GU2ZS9HVP6QTQ7KE",
          "effectiveDate" : "2026-11-01T00:00:00Z",
          "priceDimensions" : {
            "GU2ZS9HVP6QTQ7KE.JRTCKXETXF.6YS6EN2CT7" : {
              "rateCode" : "GU2ZS9HVP6QTQ7KE.JRTCKXETXF.6YS6EN2CT7",
              "description" : "AWS Lambda - Requests",
              "beginRange" : "0",
              "endRange" : "Inf",
              "unit" : "Requests",
              "pricePerUnit" : { "USD" : "0.0000002000" },
              "appliesTo" : [ ]
            }
          },
          "termAttributes" : { }
        }
      },
      "FREEREQ000000001" : {
        "FREEREQ000000001.JRTCKXETXF" : {
          "offerTermCode" : "JRTCKXETXF",
          "sku" : "FREEREQ000000001",
          "effectiveDate" : "2026-11-01T00:00:00Z",
          "priceDimensions" : {
            "FREEREQ000000001.JRTCKXETXF.6YS6EN2CT7" : {
              "rateCode" : "FREEREQ000000001.JRTCKXETXF.6YS6EN2CT7",
              "description" : "AWS Lambda - Requests Free Tier - 1,000,000 Requests",
              "beginRange" : "0",
              "endRange" : "1000000",
              "unit" : "Requests",
              "pricePerUnit" : { "USD" : "0.0000000000" },
              "appliesTo" : [ ]
            }
          },
          "termAttributes" : { }
        }
      }
    }
  }
}"#;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()
}

#[test]
fn the_offer_file_parses() {
    let offer = OfferFile::from_json(OFFER).unwrap();
    assert_eq!(offer.offer_code, "AWSLambda");
    assert_eq!(offer.version, "20261120000000");
    assert_eq!(offer.products.len(), 4);
    assert_eq!(
        offer.products["GU2ZS9HVP6QTQ7KE"].attributes["usagetype"],
        "Request"
    );
    // The tier starting at zero, not the one listed first.
    let arm = offer
        .base_rate("Lambda-GB-Second-ARM", None, Some("us-east-1"))
        .unwrap();
    assert_eq!(arm.price_per_unit["USD"], d("0.0000123456"));
    assert_eq!(arm.end_range, Some(d("7500000000")));
    assert!(OfferFile::from_json("{\"formatVersion\": 1}").is_err());
}

#[test]
fn the_refresh_finds_a_changed_price_and_a_unit_mismatch() {
    let offer = OfferFile::from_json(OFFER).unwrap();
    let changes = aws_offer::changes(PriceBook::shipped(), &offer, today());
    assert_eq!(changes.len(), 2, "{changes:#?}");

    let arm = changes
        .iter()
        .find(|c| c.entry == "aws/lambda-arm64")
        .unwrap();
    assert_eq!(arm.component, "gb_seconds");
    assert_eq!(arm.region.as_deref(), Some("us-east-1"));
    assert_eq!(arm.old, d("0.0000133334"));
    assert_eq!(arm.new, d("0.0000123456"));
    assert!(arm.unit_matches);
    assert_eq!(arm.sku, "ARMGBS0000000001");

    let x86 = changes
        .iter()
        .find(|c| c.entry == "aws/lambda-x86_64")
        .unwrap();
    assert_eq!(x86.component, "gb_seconds");
    assert_eq!(x86.old, x86.new);
    assert!(!x86.unit_matches);
    assert_eq!(x86.offer_unit, "Second");

    // Requests: 0.0000002 per request × 1,000,000 = 0.20, as in the book; not a change.
    assert!(!changes.iter().any(|c| c.component == "requests"));

    // A unit mismatch is never written.
    let text = PriceBook::shipped_toml("aws").unwrap();
    assert!(aws_offer::apply_changes(text, &changes).is_err());

    // The price change is, in place, keeping the file's comments.
    let only_arm: Vec<_> = changes.into_iter().filter(|c| c.unit_matches).collect();
    let updated = aws_offer::apply_changes(text, &only_arm).unwrap();
    assert!(updated.contains(r#"price = "0.0000123456""#));
    assert!(updated.contains("# --- Lambda"));
    assert_eq!(updated.lines().count(), text.lines().count());

    // Priced with the refreshed table: 1 GB-s on arm64 in us-east-1 = 0.0000123456;
    // eu-west-1 keeps its own figure, 0.0000133334.
    let book = PriceBook::from_toml("aws", &updated).unwrap();
    let u = Usage::new("lambda-arm64").with("gb_seconds", Decimal::ONE);
    assert_eq!(
        book.price("aws", "Lambda", &u, today()).unwrap().amount,
        d("0.0000123456")
    );
    let u = u.in_region("eu-west-1");
    assert_eq!(
        book.price("aws", "Lambda", &u, today()).unwrap().amount,
        d("0.0000133334")
    );
}

#[test]
fn a_free_allowance_is_not_the_base_rate() {
    let text = OFFER.replace(
        r#""usagetype" : "Global-Request""#,
        r#""usagetype" : "Request-ARM", "regionCode" : "us-east-1""#,
    );
    let offer = OfferFile::from_json(&text).unwrap();
    // Only a $0 band up to 1,000,000 and nothing after it: no base rate, no change.
    assert!(
        offer
            .base_rate("Request-ARM", None, Some("us-east-1"))
            .is_none()
    );
    let changes = aws_offer::changes(PriceBook::shipped(), &offer, today());
    assert!(!changes.iter().any(|c| c.usagetype == "Request-ARM"));
}
