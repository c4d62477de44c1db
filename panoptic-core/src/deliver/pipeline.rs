//! The sending half of the pipeline: queues each event for the writer
//! thread, and applies the overflow policy when the queue is full. Nothing
//! here blocks the caller (unless `Overflow::Block` says so) or reports to it.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::deliver::queue::{Control, Event, EventQueue};
use crate::deliver::spill::Spiller;
use crate::deliver::writer::{Writer, WriterSettings, later};
use crate::report::ErrorReporter;
use crate::stats::Counters;
use panoptic_spool::SpoolWriter;

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
    /// Once that happens, the writer too spools the oldest queued events
    /// while MongoDB works on a batch, until the queue is back at half, so
    /// that callers seldom pay.
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
    spiller: Arc<Spiller>,
    pub counters: Arc<Counters>,
    pub reporter: Arc<ErrorReporter>,
    spool_dir: PathBuf,
    worker: Mutex<Option<JoinHandle<()>>>,
    /// The result of the one shutdown, once it ran.
    shut_down: Mutex<Option<bool>>,
}

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
        let spiller = Arc::new(Spiller {
            queue: Arc::clone(&queue),
            spool: Arc::clone(&spool),
            owner: Arc::clone(&settings.owner),
            broker: settings.broker.clone(),
            exporters: settings.exporters.clone(),
            counters: Arc::clone(&counters),
            reporter: Arc::clone(&reporter),
            spool_dir: spool_dir.clone(),
        });
        let writer = Writer::new(
            settings,
            Arc::clone(&queue),
            Arc::clone(&counters),
            Arc::clone(&reporter),
            spool,
            Arc::clone(&spiller),
            overflow == Overflow::Spill,
        );
        let worker = std::thread::Builder::new()
            .name("panoptic-writer".into())
            .spawn(move || writer.run())?;
        Ok(Pipeline {
            queue,
            overflow,
            spiller,
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
            Overflow::Spill => {
                // The writer helps from now on (see `Intake::fill`).
                self.queue.note_overflow();
                self.spill(event, "event queue is full");
            }
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
    /// thread, with queued events beside it (see [`Spiller`]). The writer
    /// notices unacknowledged events in the spool and replays them.
    fn spill(&self, event: Event, why: &str) {
        self.spiller.spill_refused(event, why);
    }

    fn note_error(&self, message: &str) {
        self.spiller.note_error(message);
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
