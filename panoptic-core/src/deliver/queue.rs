//! The hand-over from callers to the writer thread.
//!
//! A caller pushes into a lock-free bounded queue: no lock, no system call.
//! The writer sleeps with a timeout (the flush interval) and is woken only
//! when a batch is ready or a flush is asked for, so a call that finds the
//! writer asleep does not pay for waking it (a futex call, microseconds).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Mutex, OnceLock};
use std::thread::Thread;
use std::time::{Duration, Instant};

use crossbeam_queue::ArrayQueue;

use crate::call_event::CallEvent;
use crate::event::BillingEvent;

/// One event for the writer.
pub(crate) enum Event {
    /// A finished `#[billable]` call.
    Call(CallEvent),
    /// A record logged with a kind macro.
    Record(Box<BillingEvent>),
}

/// A request to the writer, answered on the channel when done.
pub(crate) enum Control {
    /// Deliver everything queued before the request.
    Flush(Sender<()>),
    /// Put everything in MongoDB or the spool by the deadline, then stop.
    Shutdown(Sender<()>, Instant),
}

thread_local! {
    static PUSHES: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

pub(crate) struct EventQueue {
    events: ArrayQueue<Event>,
    controls: Mutex<Vec<Control>>,
    writer: OnceLock<Thread>,
    /// Set at shutdown: no push succeeds after it.
    closed: AtomicBool,
    /// Set when the writer has stopped: no request is answered after it.
    stopped: AtomicBool,
    /// Set when a caller found the queue full; cleared by the writer once
    /// it has spooled the queue back down to half.
    overflowed: AtomicBool,
    /// Queue length at which a push wakes the writer.
    wake_at: usize,
}

impl EventQueue {
    pub fn new(capacity: usize, wake_at: usize) -> EventQueue {
        EventQueue {
            events: ArrayQueue::new(capacity.max(1)),
            controls: Mutex::new(Vec::new()),
            writer: OnceLock::new(),
            closed: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
            overflowed: AtomicBool::new(false),
            wake_at: wake_at.clamp(1, capacity.max(1)),
        }
    }

    /// Called once, on the writer thread, before it takes anything.
    pub fn register_writer(&self) {
        let _ = self.writer.set(std::thread::current());
    }

    /// Queues an event; gives it back when the queue is full or closed.
    #[inline]
    pub fn push(&self, event: Event) -> Result<(), Event> {
        if self.closed.load(Ordering::Acquire) {
            return Err(event);
        }
        self.events.push(event)?;
        // Reading the length touches the consumer's cache line: do it on
        // one push in 32 per thread (the queue holds far more than 32).
        let check = PUSHES.with(|n| {
            let count = n.get().wrapping_add(1);
            n.set(count);
            count % 32 == 0
        });
        if (check || self.wake_at < 64) && self.events.len() >= self.wake_at {
            self.wake();
        }
        Ok(())
    }

    /// Waits for room (the `Block` overflow policy); gives the event back
    /// if the writer stops meanwhile.
    pub fn push_blocking(&self, mut event: Event) -> Result<(), Event> {
        loop {
            match self.push(event) {
                Ok(()) => return Ok(()),
                Err(back) if self.is_closed() => return Err(back),
                Err(back) => {
                    event = back;
                    self.wake();
                    std::thread::sleep(Duration::from_micros(50));
                }
            }
        }
    }

    pub fn pop(&self) -> Option<Event> {
        self.events.pop()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Asks the writer for something and wakes it; false when the writer
    /// has stopped (nobody would answer).
    pub fn control(&self, control: Control) -> bool {
        if self.stopped.load(Ordering::Acquire) {
            return false;
        }
        self.controls
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(control);
        self.wake();
        true
    }

    pub fn take_controls(&self) -> Vec<Control> {
        std::mem::take(
            &mut *self
                .controls
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }

    pub fn has_controls(&self) -> bool {
        !self
            .controls
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .is_empty()
    }

    /// No more pushes succeed; requests already made are still answered.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    /// The writer has stopped: later requests fail at once.
    pub fn stop(&self) {
        self.close();
        self.stopped.store(true, Ordering::Release);
        // Dropping the answer channels of late requests wakes their callers.
        drop(self.take_controls());
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Notes that a caller found the queue full.
    pub fn note_overflow(&self) {
        self.overflowed.store(true, Ordering::Relaxed);
    }

    /// Whether callers are finding the queue full: set by a caller that
    /// did, cleared when the queue is back at half or less.
    pub fn is_backed_up(&self) -> bool {
        if !self.overflowed.load(Ordering::Relaxed) {
            return false;
        }
        if self.events.len() > self.events.capacity() / 2 {
            return true;
        }
        self.overflowed.store(false, Ordering::Relaxed);
        false
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    fn wake(&self) {
        if let Some(writer) = self.writer.get() {
            writer.unpark();
        }
    }
}
