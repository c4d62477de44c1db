//! Instances that write a start record for every call
//! (`.start_records(true)`).

use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, Ordering};

/// Ids of the instances built with `.start_records(true)`: checked only
/// once [`START_RECORDS_ANY`] is set, so other programs pay one atomic
/// load per call.
static START_RECORD_INSTANCES: RwLock<Vec<u64>> = RwLock::new(Vec::new());
static START_RECORDS_ANY: AtomicBool = AtomicBool::new(false);

/// Makes every call of instance `id` write a start record by default.
pub(crate) fn by_default(id: u64) {
    if let Ok(mut ids) = START_RECORD_INSTANCES.write() {
        ids.push(id);
    }
    START_RECORDS_ANY.store(true, Ordering::Release);
}

/// Whether any instance asked for start records: one atomic load.
#[inline]
pub(crate) fn any() -> bool {
    START_RECORDS_ANY.load(Ordering::Acquire)
}

/// Whether instance `id` asked for them.
pub(crate) fn is_on(id: u64) -> bool {
    START_RECORD_INSTANCES
        .read()
        .is_ok_and(|ids| ids.contains(&id))
}
