//! DynamoDB calls made with the official AWS SDK, priced from the consumed
//! capacity the SDK's outputs carry (feature `aws-dynamodb`), with no key.
//! Expected amounts are worked out here from the us-east-1 on-demand list
//! prices: $0.125 per 1M read request units, $0.625 per 1M write units.
#![cfg(feature = "aws-dynamodb")]

mod common;

use std::str::FromStr;

use panoptic::prices::aws_dynamodb::sdk::operation::batch_write_item::BatchWriteItemOutput;
use panoptic::prices::aws_dynamodb::sdk::operation::put_item::PutItemOutput;
use panoptic::prices::aws_dynamodb::sdk::operation::query::QueryOutput;
use panoptic::prices::aws_dynamodb::sdk::types::ConsumedCapacity;
use panoptic::{Decimal, billable};

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

fn consumed(table: &str, units: f64) -> ConsumedCapacity {
    ConsumedCapacity::builder()
        .table_name(table)
        .capacity_units(units)
        .build()
}

/// What `put_item().return_consumed_capacity(Total).send().await` returns
/// for a 3 KB item: 3 write units.
#[billable(provider = "aws", service = "DynamoDB")]
fn save_order() -> Result<PutItemOutput, std::io::Error> {
    Ok(PutItemOutput::builder()
        .consumed_capacity(consumed("orders", 3.0))
        .build())
}

/// An eventually consistent query that read 20 KB: 2.5 read units.
#[billable(provider = "aws", service = "DynamoDB")]
async fn recent_orders() -> QueryOutput {
    QueryOutput::builder()
        .consumed_capacity(consumed("orders", 2.5))
        .count(12)
        .build()
}

/// A batch over two tables reports one figure per table.
#[billable(provider = "aws", service = "DynamoDB")]
fn import_orders() -> BatchWriteItemOutput {
    BatchWriteItemOutput::builder()
        .consumed_capacity(consumed("orders", 25.0))
        .consumed_capacity(consumed("order_lines", 15.0))
        .build()
}

/// The request did not ask for consumed capacity.
#[billable(provider = "aws", service = "DynamoDB")]
fn save_order_silently() -> PutItemOutput {
    PutItemOutput::builder().build()
}

/// A failed call returns no output: nothing to price from.
#[billable(provider = "aws", service = "DynamoDB")]
fn save_order_failing() -> Result<PutItemOutput, std::io::Error> {
    Err(std::io::Error::other(
        "ProvisionedThroughputExceededException",
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_outputs_are_priced_from_their_consumed_capacity() {
    let env = common::unique_env("dynamodb-sdk");
    let panoptic = common::builder(&env).build().unwrap();
    let events = {
        let guard = panoptic.install();
        save_order().unwrap();
        recent_orders().await;
        import_orders();
        save_order_silently();
        save_order_failing().unwrap_err();
        assert!(guard.flush());
        common::events(&env, "aws_john_doe").await
    };
    assert_eq!(events.len(), 5, "{events:#?}");

    // 3 write units × $0.625 / 1M.
    let save = common::by_resource(&events, "save_order");
    assert_eq!(save.amount, Some(dec("0.000001875")));
    assert_eq!((save.quantity, save.unit.as_str()), (3.0, "request units"));
    let usage = save.metadata.usage().unwrap();
    assert_eq!(usage.get_i64("write_request_units").ok(), Some(3));
    assert_eq!(usage.get_i64("read_request_units").ok(), Some(0));
    // 2.5 read units × $0.125 / 1M.
    assert_eq!(
        common::by_resource(&events, "recent_orders").amount,
        Some(dec("0.0000003125"))
    );
    // (25 + 15) write units × $0.625 / 1M.
    assert_eq!(
        common::by_resource(&events, "import_orders").amount,
        Some(dec("0.000025"))
    );
    for unpriced in ["save_order_silently", "save_order_failing"] {
        let event = common::by_resource(&events, unpriced);
        assert_eq!(event.amount, None, "{unpriced}");
        assert!(
            event
                .metadata
                .unpriced()
                .unwrap()
                .contains("ReturnConsumedCapacity"),
            "{:?}",
            event.metadata.unpriced()
        );
    }
}
