//! Fault injection for panoptic's own tests. Hidden, not an API: it lets a
//! test make the writer panic while it handles a chosen event, to prove
//! that a panic in batch handling loses nothing and blocks nobody.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::keys;

static ARMED: AtomicBool = AtomicBool::new(false);
static TRIGGER: Mutex<Option<String>> = Mutex::new(None);

/// The writer panics once, in the middle of delivering the first batch
/// that holds an event whose `resource` is `resource`.
#[doc(hidden)]
pub fn panic_writer_on(resource: &str) {
    *TRIGGER.lock().unwrap_or_else(|e| e.into_inner()) = Some(resource.to_owned());
    ARMED.store(true, Ordering::Release);
}

/// Panics if armed and `documents` holds the trigger; disarms first.
pub(crate) fn check(documents: &[bson::RawDocumentBuf]) {
    if !ARMED.load(Ordering::Acquire) {
        return;
    }
    let mut trigger = TRIGGER.lock().unwrap_or_else(|e| e.into_inner());
    let hit = trigger.as_deref().is_some_and(|resource| {
        documents
            .iter()
            .any(|d| d.get_str(keys::RESOURCE).is_ok_and(|r| r == resource))
    });
    if hit {
        *trigger = None;
        ARMED.store(false, Ordering::Release);
        drop(trigger);
        panic!("injected writer fault");
    }
}
