//! The sending half of the pipeline: queues each event for the writer
//! thread, and applies the overflow policy when the queue is full. Nothing
//! here blocks the caller (unless `Overflow::Block` says so) or reports to it.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use bson::RawDocumentBuf;

use crate::document::{Owner, Route, call_document, record_document};
use crate::queue::{Control, Event, EventQueue};
use crate::report::ErrorReporter;
use crate::spool::SpoolWriter;
use crate::spool::keep_dead_letter;
use crate::stats::Counters;
use crate::writer::{Writer, WriterSettings, later};

/// What happens to an event when the in-memory queue is full.
///
/// ```
/// use panoptic_core::{Overflow, Panoptic};
/// let builder = Panoptic::builder().username("ann").queue_capacity(10_000).overflow(Overflow::Block);
/// assert_eq!(Overflow::default(), Overflow::Spill);
/// # drop(builder);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overflow {
    /// Append it to the spool on the caller's thread, with up to 255
    /// queued events in the same write: nothing lost, memory bounded.
    #[default]
    Spill,
    /// Wait for room: nothing lost, but the caller is slowed.
    Block,
    /// Drop it and count it in `Stats::dropped`.
    Drop,
}

/// The sending half, shared by the drain and the handle.
pub(crate) struct Pipeline {
    queue: Arc<EventQueue>,
    overflow: Overflow,
    owner: Arc<Owner>,
    spool: Arc<Mutex<SpoolWriter>>,
    pub counters: Arc<Counters>,
    pub reporter: Arc<ErrorReporter>,
    spool_dir: PathBuf,
    worker: Mutex<Option<JoinHandle<()>>>,
    /// The result of the one shutdown, once it ran.
    shut_down: Mutex<Option<bool>>,
}

/// Most events a caller that finds the queue full spools at once (its own
/// and queued ones): enough to spread the lock and the write over many
/// calls, few enough to keep one call's pause short.
const SPILL_BATCH: usize = 256;

/// How long a shutdown waits for the writer past its deadline: the writer
/// stops every operation at the deadline, then seals the spool.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

impl Pipeline {
    pub fn start(
        settings: WriterSettings,
        overflow: Overflow,
        reporter: Arc<ErrorReporter>,
    ) -> std::io::Result<Pipeline> {
        let queue = Arc::new(EventQueue::new(
            settings.queue_capacity,
            settings.batch_size,
        ));
        let counters = Arc::new(Counters::default());
        let spool = Arc::new(Mutex::new(SpoolWriter::with_options(
            settings.spool_dir.clone(),
            settings.spool,
        )));
        let spool_dir = settings.spool_dir.clone();
        let owner = Arc::clone(&settings.owner);
        let writer = Writer::new(
            settings,
            Arc::clone(&queue),
            Arc::clone(&counters),
            Arc::clone(&reporter),
            Arc::clone(&spool),
        );
        let worker = std::thread::Builder::new()
            .name("panoptic-writer".into())
            .spawn(move || writer.run())?;
        Ok(Pipeline {
            queue,
            overflow,
            owner,
            spool,
            counters,
            reporter,
            spool_dir,
            worker: Mutex::new(Some(worker)),
            shut_down: Mutex::new(None),
        })
    }

    /// Queues an event. When the queue is full, the overflow policy decides.
    /// (`emitted` is counted by whoever takes the event, so the caller never
    /// touches a shared counter.)
    #[inline]
    pub fn send(&self, event: Event) {
        if let Err(event) = self.queue.push(event) {
            self.overflow(event);
        }
    }

    #[cold]
    fn overflow(&self, event: Event) {
        if self.queue.is_closed() {
            // Shut down: keep it on disk for the next process.
            return self.spill(event, "panoptic was shut down");
        }
        match self.overflow {
            Overflow::Spill => self.spill(event, "event queue is full"),
            Overflow::Block => {
                if let Err(event) = self.queue.push_blocking(event) {
                    self.spill(event, "panoptic was shut down");
                }
            }
            Overflow::Drop => {
                Counters::add(&self.counters.emitted, 1);
                Counters::add(&self.counters.dropped, 1);
                self.note_error("event queue is full: event dropped (Overflow::Drop)");
            }
        }
    }

    /// Writes an event the writer cannot take to the spool, on this
    /// thread, with up to [`SPILL_BATCH`] events taken out of the full
    /// queue beside it: one lock and one write for them all, and room in
    /// the queue for the calls that follow. The writer notices
    /// unacknowledged events in the spool and replays them.
    fn spill(&self, event: Event, why: &str) {
        // Held while taking, encoding and writing, so that a flush the
        // writer answers meanwhile finds these events on disk, not in
        // this thread's hands.
        let mut spool = self
            .spool
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Another caller may have made room while this one waited.
        let event = match self.queue.push(event) {
            Ok(()) => return,
            Err(event) => event,
        };
        let mut events = Vec::with_capacity(SPILL_BATCH);
        events.push(event);
        while events.len() < SPILL_BATCH
            && let Some(queued) = self.queue.pop()
        {
            events.push(queued);
        }
        Counters::add(&self.counters.emitted, events.len() as u64);
        let mut routes: Vec<(Route, Vec<RawDocumentBuf>)> = Vec::new();
        for event in events {
            let Some((route, document)) = self.encode(event, why) else {
                continue;
            };
            match routes.iter_mut().find(|(r, _)| *r == route) {
                Some((_, documents)) => documents.push(document),
                None => routes.push((route, vec![document])),
            }
        }
        for (route, mut documents) in routes {
            let result = spool.append_sparing(
                &route.database,
                &route.collection,
                &mut documents,
                false,
                |document, reason| {
                    let message = keep_dead_letter(
                        &self.spool_dir,
                        &self.counters,
                        (&route.database, &route.collection),
                        &document,
                        &format!("cannot be spooled: {reason}"),
                    );
                    self.note_error(&format!("{why}; {message}"));
                },
            );
            match result {
                Ok(()) => Counters::add(&self.counters.spooled, documents.len() as u64),
                Err(error) => {
                    Counters::add(&self.counters.dropped, documents.len() as u64);
                    self.note_error(&format!(
                        "{why} and the spool refused {} event(s): {error}",
                        documents.len()
                    ));
                }
            }
        }
    }

    /// An event's route and document; `None` when it cannot be encoded
    /// (kept as a dead letter, counted failed).
    fn encode(&self, event: Event, why: &str) -> Option<(Route, RawDocumentBuf)> {
        match event {
            Event::Call(call) => {
                let (route, document, warning) = call_document(&call, &self.owner);
                if let Some(warning) = warning {
                    crate::report::write_line(&format!("panoptic: warning: {warning}"));
                }
                Some((route, document))
            }
            Event::Record(event) => {
                match record_document(*event, &self.spool_dir, &self.counters) {
                    Ok(encoded) => Some(encoded),
                    Err(message) => {
                        self.note_error(&format!("{why}; {message}"));
                        None
                    }
                }
            }
        }
    }

    fn note_error(&self, message: &str) {
        self.counters.set_last_error(self.reporter.report(message));
    }

    /// Waits until everything queued before this call is written (or
    /// spooled), at most `deadline`. Returns false on time-out.
    pub fn flush(&self, deadline: Duration) -> bool {
        let (ack, done) = std::sync::mpsc::channel();
        self.queue.control(Control::Flush(ack)) && done.recv_timeout(deadline).is_ok()
    }

    /// Puts everything accepted in MongoDB or the spool and stops the
    /// writer, returning within `deadline` plus a second whatever the
    /// server does. Runs once: a later call returns the first result.
    pub fn shutdown(&self, deadline: Duration) -> bool {
        let mut state = self
            .shut_down
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(done) = *state {
            return done;
        }
        // From here no push succeeds: callers blocked by `Overflow::Block`
        // are released, and later events go to the spool.
        self.queue.close();
        let (ack, done) = std::sync::mpsc::channel();
        let asked = self.queue.control(Control::Shutdown(ack, later(deadline)));
        let answered = asked
            && done
                .recv_timeout(deadline.saturating_add(SHUTDOWN_GRACE))
                .is_ok();
        if answered
            && let Ok(mut worker) = self.worker.lock()
            && let Some(worker) = worker.take()
        {
            let _ = worker.join();
        }
        if answered {
            // Pushes that passed the closed check just before it was set.
            while let Some(event) = self.queue.pop() {
                self.spill(event, "panoptic was shut down");
            }
        }
        self.report_shutdown(answered, deadline);
        *state = Some(answered);
        answered
    }

    /// One line on stderr when anything is not in MongoDB: how many events
    /// are not durable (only in memory), and how many wait in the spool.
    fn report_shutdown(&self, answered: bool, deadline: Duration) {
        let stats = self.counters.snapshot();
        let in_memory = if answered {
            0
        } else {
            self.queue.len() as u64 + stats.held
        };
        let waiting = stats.pending().saturating_sub(in_memory);
        if answered && waiting == 0 {
            return;
        }
        let mut line = format!(
            "shutdown: {in_memory} event(s) not durable; {waiting} wait in the spool at {} for the next process",
            self.spool_dir.display()
        );
        if !answered {
            line.push_str(&format!(" (the deadline of {deadline:?} passed first)"));
        }
        self.reporter.always(&line);
    }
}
