//! Which `#[billable]` AWS Lambda call pays for the invocation. Lambda
//! bills an invocation once — one request fee, GB-seconds for the
//! handler's duration — however many `#[billable]` Lambda calls run inside
//! it, nested or on other tasks, and a warm process serves many
//! invocations one after the other (an execution environment runs one at
//! a time). The call that first names an invocation's request id
//! (`request_id = ctx.request_id` on the handler) holds it; every other
//! Lambda call while it runs is inside it and bills nothing.

use std::sync::{Mutex, MutexGuard, PoisonError};

struct Invocation {
    /// The request id of the invocation seen last.
    id: Option<String>,
    /// Whether the call holding it is still running.
    running: bool,
}

static INVOCATION: Mutex<Invocation> = Mutex::new(Invocation {
    id: None,
    running: false,
});

fn lock() -> MutexGuard<'static, Invocation> {
    INVOCATION.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A Lambda call naming `request_id` as it starts: true when it holds the
/// invocation (the first to name it), false when it is inside one.
pub(crate) fn claim(request_id: &str) -> bool {
    let mut invocation = lock();
    if invocation.id.as_deref() == Some(request_id) {
        return false;
    }
    invocation.id = Some(request_id.to_owned());
    invocation.running = true;
    true
}

/// The call holding the invocation ended.
pub(crate) fn end() {
    lock().running = false;
}

/// Whether an invocation's holding call is running: any other Lambda call
/// now is inside it.
pub(crate) fn running() -> bool {
    lock().running
}
