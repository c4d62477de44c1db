//! Reading budget state back: period documents and their amounts, and
//! copies of a spool folder (as after a crash, for a second process).

use std::path::Path;

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

/// Copies the folder `from` (files and folders) to `to`.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
