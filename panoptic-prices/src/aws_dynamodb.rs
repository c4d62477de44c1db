//! DynamoDB outputs of the official AWS SDK (`aws-sdk-dynamodb`), priced
//! from the capacity they say they consumed (feature `aws-dynamodb`).
//!
//! DynamoDB reports consumed capacity only when the request asks for it
//! (`ReturnConsumedCapacity::Total` or `Indexes`); an output without it
//! says nothing, so [`Metered::usage`] is `None` and the call falls back to
//! a `usage_from` key or is recorded unpriced. On-demand tables bill
//! request units, which is what the capacity figures count (an eventually
//! consistent read of 4 KB is 0.5, a transactional write 2 per KB).
//!
//! ```
//! use aws_sdk_dynamodb::operation::put_item::PutItemOutput;
//! use aws_sdk_dynamodb::types::ConsumedCapacity;
//! use panoptic_prices::Metered;
//!
//! let output = PutItemOutput::builder()
//!     .consumed_capacity(ConsumedCapacity::builder().table_name("orders").capacity_units(2.0).build())
//!     .build();
//! let usage = output.usage().unwrap();
//! assert_eq!(usage.item, "dynamodb-on-demand");
//! assert_eq!(usage.quantities[1].component, "write_request_units");
//! assert_eq!(usage.quantities[1].amount.to_string(), "2");
//! ```

use aws_sdk_dynamodb::operation::{
    batch_execute_statement::BatchExecuteStatementOutput, batch_get_item::BatchGetItemOutput,
    batch_write_item::BatchWriteItemOutput, delete_item::DeleteItemOutput,
    execute_statement::ExecuteStatementOutput, execute_transaction::ExecuteTransactionOutput,
    get_item::GetItemOutput, put_item::PutItemOutput, query::QueryOutput, scan::ScanOutput,
    transact_get_items::TransactGetItemsOutput, transact_write_items::TransactWriteItemsOutput,
    update_item::UpdateItemOutput,
};
use aws_sdk_dynamodb::types::ConsumedCapacity;
use rust_decimal::Decimal;

use crate::{Metered, Usage, aws};

/// Whether an operation reads or writes, for outputs whose capacity
/// figures give only a total.
#[derive(Clone, Copy)]
enum Access {
    Read,
    Write,
    /// PartiQL statements: either; only the split figures can tell.
    Either,
}

/// Read and write units of `capacities`, or `None` when none was reported
/// (or a total cannot be told apart).
fn units<'a>(
    capacities: impl IntoIterator<Item = &'a ConsumedCapacity>,
    access: Access,
) -> Option<Usage> {
    let mut capacities = capacities.into_iter().peekable();
    capacities.peek()?;
    let (mut read, mut write) = (Decimal::ZERO, Decimal::ZERO);
    for capacity in capacities {
        match (
            capacity.read_capacity_units,
            capacity.write_capacity_units,
            capacity.capacity_units,
            access,
        ) {
            (None, None, Some(total), Access::Read) => read += decimal(total)?,
            (None, None, Some(total), Access::Write) => write += decimal(total)?,
            (None, None, _, _) => return None,
            (r, w, _, _) => {
                read += decimal(r.unwrap_or(0.0))?;
                write += decimal(w.unwrap_or(0.0))?;
            }
        }
    }
    Some(aws::dynamodb(read, write))
}

/// Capacity figures are small multiples of 0.5: the shortest decimal that
/// reads back as the same double is exact for them.
fn decimal(units: f64) -> Option<Decimal> {
    if !units.is_finite() || units < 0.0 {
        return None;
    }
    units.to_string().parse().ok()
}

macro_rules! metered_one {
    ($access:expr => $($output:ty),* $(,)?) => {$(
        impl Metered for $output {
            fn usage(&self) -> Option<Usage> {
                units(self.consumed_capacity(), $access)
            }
        }
    )*};
}

macro_rules! metered_many {
    ($access:expr => $($output:ty),* $(,)?) => {$(
        impl Metered for $output {
            fn usage(&self) -> Option<Usage> {
                units(self.consumed_capacity(), $access)
            }
        }
    )*};
}

metered_one!(Access::Read => GetItemOutput, QueryOutput, ScanOutput);
metered_one!(Access::Write => PutItemOutput, UpdateItemOutput, DeleteItemOutput);
metered_one!(Access::Either => ExecuteStatementOutput);
metered_many!(Access::Read => BatchGetItemOutput, TransactGetItemsOutput);
metered_many!(Access::Write => BatchWriteItemOutput, TransactWriteItemsOutput);
metered_many!(Access::Either => BatchExecuteStatementOutput, ExecuteTransactionOutput);

/// The AWS SDK's DynamoDB crate, for building or naming its types.
pub use aws_sdk_dynamodb as sdk;

#[cfg(test)]
mod tests {
    use super::*;

    fn capacity() -> aws_sdk_dynamodb::types::builders::ConsumedCapacityBuilder {
        ConsumedCapacity::builder().table_name("t")
    }

    fn quantity(usage: &Usage, component: &str) -> String {
        usage
            .quantities
            .iter()
            .find(|q| q.component == component)
            .map(|q| q.amount.to_string())
            .unwrap()
    }

    #[test]
    fn totals_count_as_the_operations_kind() {
        let get = GetItemOutput::builder()
            .consumed_capacity(capacity().capacity_units(0.5).build())
            .build();
        let usage = get.usage().unwrap();
        assert_eq!(quantity(&usage, "read_request_units"), "0.5");
        assert_eq!(quantity(&usage, "write_request_units"), "0");
    }

    #[test]
    fn batches_sum_their_tables_and_split_figures_win() {
        let batch = BatchWriteItemOutput::builder()
            .consumed_capacity(capacity().capacity_units(3.0).build())
            .consumed_capacity(capacity().capacity_units(4.0).build())
            .build();
        assert_eq!(
            quantity(&batch.usage().unwrap(), "write_request_units"),
            "7"
        );
        let statement = ExecuteTransactionOutput::builder()
            .consumed_capacity(
                capacity()
                    .capacity_units(6.0)
                    .read_capacity_units(2.0)
                    .write_capacity_units(4.0)
                    .build(),
            )
            .build();
        let usage = statement.usage().unwrap();
        assert_eq!(quantity(&usage, "read_request_units"), "2");
        assert_eq!(quantity(&usage, "write_request_units"), "4");
    }

    #[test]
    fn no_reported_capacity_says_nothing() {
        assert!(PutItemOutput::builder().build().usage().is_none());
        // A PartiQL total cannot be told read from write.
        let statement = ExecuteStatementOutput::builder()
            .consumed_capacity(capacity().capacity_units(1.0).build())
            .build();
        assert!(statement.usage().is_none());
        let negative = QueryOutput::builder()
            .consumed_capacity(capacity().capacity_units(-1.0).build())
            .build();
        assert!(negative.usage().is_none());
    }
}
