//! Reading budget state back: period documents and their amounts.

use bson::{Document, doc};
use panoptic::Decimal;

/// The period document `id` (`{budget}|{period}`), empty when there is none.
pub async fn period(uri: &str, id: &str) -> Document {
    super::client_for(uri)
        .await
        .database(panoptic::budget::BUDGET_DATABASE)
        .collection::<Document>("periods")
        .find_one(doc! { "_id": id })
        .await
        .unwrap()
        .unwrap_or_default()
}

/// The decimal at `key`, zero when absent.
pub fn decimal(document: &Document, key: &str) -> Decimal {
    document
        .get_decimal128(key)
        .map(|d| panoptic::money::from_decimal128(*d).unwrap())
        .unwrap_or(Decimal::ZERO)
}
