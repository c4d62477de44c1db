//! One reservation's answer, shared by the caller that waits for it and
//! the task that makes it. Whoever comes first under the lock decides:
//! the answer is handed over, or the caller has given up (its deadline
//! passed, or its future was dropped) and the answer goes back to the
//! task, which releases what it held. So a late answer never keeps money
//! reserved until its TTL, and no answer is lost between the two.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use panoptic_core::budget_hook::{BudgetExceeded, Reserved};

pub(crate) type Answer = Result<Reserved, BudgetExceeded>;

enum State {
    /// Nobody decided yet; an async caller's waker, once polled.
    Waiting(Option<Waker>),
    /// Answered in time, not yet taken.
    Answered(Answer),
    /// The deadline passed before an answer (the reservation thread's
    /// timer says so, or the task was dropped unanswered).
    Expired,
    /// The caller took the answer or gave up: a later answer is late.
    Done,
}

pub(crate) struct Pending {
    state: Mutex<State>,
    changed: Condvar,
}

impl Pending {
    pub(crate) fn new() -> Arc<Pending> {
        Arc::new(Pending {
            state: Mutex::new(State::Waiting(None)),
            changed: Condvar::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Hands `answer` to the caller; gives it back when the caller is
    /// gone or its deadline passed (the task must release what it holds).
    pub(crate) fn answer(&self, answer: Answer) -> Option<Answer> {
        let mut state = self.lock();
        let State::Waiting(waker) = &mut *state else {
            return Some(answer);
        };
        let waker = waker.take();
        *state = State::Answered(answer);
        drop(state);
        self.changed.notify_all();
        if let Some(waker) = waker {
            waker.wake();
        }
        None
    }

    /// The deadline passed with no answer: the caller applies the
    /// budget's policy.
    pub(crate) fn expire(&self) {
        let mut state = self.lock();
        let State::Waiting(waker) = &mut *state else {
            return;
        };
        let waker = waker.take();
        *state = State::Expired;
        drop(state);
        self.changed.notify_all();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// For a synchronous caller: the answer, if one comes by `deadline`
    /// (measured by the caller's own clock, whatever the broker does).
    pub(crate) fn wait_until(&self, deadline: Instant) -> Option<Answer> {
        let mut state = self.lock();
        loop {
            match std::mem::replace(&mut *state, State::Done) {
                State::Answered(answer) => return Some(answer),
                State::Expired | State::Done => return None,
                waiting @ State::Waiting(_) => {
                    let now = Instant::now();
                    if now >= deadline {
                        // Done: an answer after this is late.
                        return None;
                    }
                    *state = waiting;
                    state = self
                        .changed
                        .wait_timeout(state, deadline - now)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
            }
        }
    }

    pub(crate) fn poll_answer(&self, cx: &mut Context<'_>) -> Poll<Option<Answer>> {
        let mut state = self.lock();
        match std::mem::replace(&mut *state, State::Done) {
            State::Answered(answer) => Poll::Ready(Some(answer)),
            State::Expired | State::Done => Poll::Ready(None),
            State::Waiting(_) => {
                *state = State::Waiting(Some(cx.waker().clone()));
                Poll::Pending
            }
        }
    }

    /// The caller is gone: an answer it did not take comes back.
    pub(crate) fn abandon(&self) -> Option<Answer> {
        match std::mem::replace(&mut *self.lock(), State::Done) {
            State::Answered(answer) => Some(answer),
            _ => None,
        }
    }
}

/// The task's side: expires the answer if dropped unanswered (its
/// runtime shut down), so that no caller waits for it forever.
pub(crate) struct Answering(pub(crate) Arc<Pending>);

impl Drop for Answering {
    fn drop(&mut self) {
        self.0.expire();
    }
}
