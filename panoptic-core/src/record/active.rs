//! Which `#[billable]` sites are running on this thread: lets a client
//! library bill under its caller's name.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::site::CallSite;

thread_local! {
    /// The sites of the `#[billable]` calls running on this thread,
    /// innermost last: lets a client library bill under its caller's name.
    static ACTIVE: RefCell<Vec<&'static CallSite>> = const { RefCell::new(Vec::new()) };
}

/// The resource of the innermost `#[billable]` function (or block) running
/// on this thread or task, if any. Client libraries use it to name the
/// resource of what they bill on the caller's behalf.
///
/// ```
/// assert_eq!(panoptic_core::active_resource(), None);
/// ```
pub fn active_resource() -> Option<String> {
    ACTIVE.with(|active| {
        active
            .borrow()
            .last()
            .map(|site| site.names().resource.clone())
    })
}

/// Marks `site` active on this thread until the guard drops.
pub(crate) struct Active;

impl Active {
    pub(crate) fn enter(site: &'static CallSite) -> Active {
        ACTIVE.with(|active| active.borrow_mut().push(site));
        Active
    }
}

impl Drop for Active {
    #[inline]
    fn drop(&mut self) {
        ACTIVE.with(|active| active.borrow_mut().pop());
    }
}

pin_project_lite::pin_project! {
    /// A future that marks its call site active while it is polled, on
    /// whichever thread polls it.
    #[doc(hidden)]
    pub struct InSite<F> {
        site: &'static CallSite,
        // Unset when no instance was ever installed: nothing is recorded,
        // and the call costs no thread-local work per poll.
        tracked: bool,
        #[pin]
        inner: F,
    }
}

impl<F> InSite<F> {
    /// Wraps `inner`.
    #[inline]
    pub fn new(site: &'static CallSite, inner: F) -> Self {
        let tracked = crate::handle::ever_installed();
        InSite {
            site,
            tracked,
            inner,
        }
    }
}

impl<F: Future> Future for InSite<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        if !*this.tracked {
            return this.inner.poll(cx);
        }
        let _active = Active::enter(this.site);
        this.inner.poll(cx)
    }
}

/// How many `#[billable]` AWS Lambda calls are running on this thread or
/// task: an inner one does not pay the per-invocation request fee again.
pub(crate) fn lambda_calls_running() -> usize {
    ACTIVE.with(|active| {
        active
            .borrow()
            .iter()
            .filter(|site| site.is_aws_lambda())
            .count()
    })
}
