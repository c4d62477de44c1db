//! The budgeted `#[billable]` calls running on a thread or task, shared
//! with client libraries that bill the call's real amount themselves.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

/// The budgeted `#[billable]` call a client library runs inside: its
/// budget and call id. A client that bills the call's real amount itself
/// (the BigQuery client's invoice) tags its record with them and calls
/// [`BudgetLink::settled_by_record`], so the reservation settles at that
/// amount and the call's own unpriced event does not count its estimate
/// a second time.
#[derive(Debug)]
pub struct BudgetLink {
    /// The budget the call reserved in.
    pub budget: String,
    /// The id of the call's reservation (`metadata.call_id`).
    pub call_id: String,
    settled: AtomicBool,
}

impl BudgetLink {
    pub(crate) fn new(budget: String, call_id: String) -> BudgetLink {
        BudgetLink {
            budget,
            call_id,
            settled: AtomicBool::new(false),
        }
    }

    /// Whether a record inside the call settled its reservation.
    pub(crate) fn is_settled(&self) -> bool {
        self.settled.load(Ordering::Relaxed)
    }

    /// Says that a record tagged with this call's `budget` and `call_id`
    /// carries the call's real amount and settles its reservation.
    pub fn settled_by_record(&self) {
        self.settled.store(true, Ordering::Relaxed);
    }
}

thread_local! {
    /// The budgeted calls running on this thread (or task, while polled),
    /// innermost last.
    static LINKS: RefCell<Vec<Arc<BudgetLink>>> = const { RefCell::new(Vec::new()) };
}

/// Marks a budgeted call's link active until dropped.
#[doc(hidden)]
pub struct LinkScope(bool);

impl LinkScope {
    pub(crate) fn enter(link: Option<&Arc<BudgetLink>>) -> LinkScope {
        match link {
            Some(link) => {
                LINKS.with(|links| links.borrow_mut().push(Arc::clone(link)));
                LinkScope(true)
            }
            None => LinkScope(false),
        }
    }
}

impl Drop for LinkScope {
    fn drop(&mut self) {
        if self.0 {
            LINKS.with(|links| links.borrow_mut().pop());
        }
    }
}

pin_project_lite::pin_project! {
    /// The body of a budgeted async call: its link is active while polled,
    /// on whichever thread polls it.
    #[doc(hidden)]
    pub struct InBudget<F> {
        link: Option<Arc<BudgetLink>>,
        #[pin]
        inner: F,
    }
}

impl<F> InBudget<F> {
    pub(crate) fn new(link: Option<Arc<BudgetLink>>, inner: F) -> InBudget<F> {
        InBudget { link, inner }
    }
}

impl<F: Future> Future for InBudget<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _scope = LinkScope::enter(this.link.as_ref());
        this.inner.poll(cx)
    }
}

/// The innermost budgeted call running here, if any.
pub(crate) fn innermost() -> Option<Arc<BudgetLink>> {
    LINKS.with(|links| links.borrow().last().cloned())
}
