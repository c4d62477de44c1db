//! The background writer: batches events per collection, writes them with
//! unordered `insert_many`, and keeps nothing only in memory that MongoDB
//! has not acknowledged for longer than it must.
//!
//! While MongoDB answers, batches go straight in (in write-ahead mode they
//! are appended to the spool first). When MongoDB cannot be reached, the
//! writer goes offline: batches go to the spool, and a ping is tried with
//! growing intervals. Once MongoDB answers again, spooled segments are
//! replayed oldest first, one per tick, and deleted only when every record
//! in them is delivered or accounted for. A duplicate `_id` (error 11000 on
//! the `_id` index) means MongoDB already had the event: delivered, counted
//! once. An event MongoDB can never take goes to a dead-letter file.
//!
//! Every MongoDB operation has a timeout, and a shutdown request cuts an
//! operation short: from then on, everything the writer holds is put in the
//! spool first, then delivered while the deadline allows.

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bson::RawDocumentBuf;

use crate::connect::MongoSettings;
use crate::deliver::document::{Owner, Route};
use crate::deliver::intake::Intake;
use crate::deliver::mongo::Mongo;
use crate::deliver::queue::{Control, EventQueue};
use crate::deliver::spill::Spiller;
use crate::report::ErrorReporter;
use crate::stats::Counters;
use panoptic_spool::{SpoolOptions, SpoolWriter};

/// Settings of the writer.
#[derive(Clone)]
pub(crate) struct WriterSettings {
    pub mongo: MongoSettings,
    pub batch_size: usize,
    pub flush_interval: Duration,
    pub queue_capacity: usize,
    pub retry_interval: Duration,
    pub spool_dir: PathBuf,
    pub spool: SpoolOptions,
    pub write_ahead: bool,
    /// How far below the application's priority the writer thread runs.
    pub nice: u8,
    /// The handle's own username, project and env, for calls logged through
    /// its child loggers.
    pub owner: Arc<Owner>,
    /// Counts spend against budgets, when budgets are on.
    pub broker: Option<Arc<dyn crate::budget_hook::BudgetHook>>,
    /// Told of each event encoded.
    pub exporters: Box<[Arc<dyn crate::export_hook::ExportHook>]>,
}

/// Longest wait between two pings while MongoDB is unreachable.
const MAX_RETRY_INTERVAL: Duration = Duration::from_secs(10);

/// `now + duration`, or far in the future when that does not fit: a huge
/// configured duration means "a long time", never a panic.
pub(crate) fn later(duration: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(duration)
        .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 24 * 3600)))
        .unwrap_or(now)
}

pub(crate) struct Writer {
    settings: WriterSettings,
    queue: Arc<EventQueue>,
    counters: Arc<Counters>,
    reporter: Arc<ErrorReporter>,
    spool: Arc<Mutex<SpoolWriter>>,
    mongo: Mongo,
    intake: Intake,
    online: bool,
    retry_interval: Duration,
    next_ping: Instant,
    /// Whether the spool folder may hold segments to replay.
    replay_pending: bool,
    /// Set by a shutdown request: no operation may outlast it.
    deadline: Option<Instant>,
}

thread_local! {
    /// Batches the writer was delivering when it panicked, put here by
    /// `Unsent` as the panic unwinds; `Writer::run` spools them.
    static RESCUED: RefCell<Vec<(Route, Vec<RawDocumentBuf>)>> = const { RefCell::new(Vec::new()) };
}

/// Batches on their way to MongoDB. A panic in their handling drops this
/// while unwinding, and what it still holds is rescued for the spool
/// instead of vanishing with the stack frame. A batch rescued after
/// MongoDB took it is replayed as a duplicate `_id`: counted once.
struct Unsent(Vec<(Route, Vec<RawDocumentBuf>)>);

impl Drop for Unsent {
    fn drop(&mut self) {
        if std::thread::panicking() && !self.0.is_empty() {
            let batches = std::mem::take(&mut self.0);
            let _ = RESCUED.try_with(|rescued| rescued.borrow_mut().extend(batches));
        }
    }
}

/// How a batch fared.
enum Delivery {
    /// Every document is accounted for, but these (indices) must be sent
    /// again later.
    Done { retry: Vec<usize> },
    /// Nothing is known written; MongoDB is away.
    Unreachable(String),
    /// MongoDB refuses this collection for good (authorization, name).
    Refused(String),
    /// Cut short by a shutdown request.
    Interrupted,
}

impl Writer {
    pub fn new(
        settings: WriterSettings,
        queue: Arc<EventQueue>,
        counters: Arc<Counters>,
        reporter: Arc<ErrorReporter>,
        spool: Arc<Mutex<SpoolWriter>>,
        spiller: Arc<Spiller>,
        spills_backlog: bool,
    ) -> Writer {
        let intake = Intake::new(spiller, spills_backlog);
        Writer {
            retry_interval: settings.retry_interval,
            mongo: Mongo::new(settings.mongo.clone()),
            settings,
            queue,
            counters,
            reporter,
            spool,
            intake,
            online: true,
            next_ping: Instant::now(),
            replay_pending: true,
            deadline: None,
        }
    }

    /// Runs until shut down. A panic inside is caught, counted and
    /// reported, what the writer held is put in the spool, and the writer
    /// goes on: callers are never left waiting for a dead thread.
    pub fn run(mut self) {
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime,
            Err(error) => {
                self.report(&format!("cannot start the writer runtime: {error}"));
                self.queue.stop();
                return;
            }
        };
        if let Err(error) = crate::deliver::priority::lower_current_thread(self.settings.nice) {
            // It still runs, at the application's priority.
            self.report(&format!("cannot lower the writer's priority: {error}"));
        }
        self.queue.register_writer();
        loop {
            let served = catch_unwind(AssertUnwindSafe(|| runtime.block_on(self.serve())));
            let Err(panic) = served else {
                self.queue.stop();
                return;
            };
            Counters::add(&self.counters.writer_panics, 1);
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            self.report(&format!("the writer panicked ({message}); it goes on"));
            for (route, documents) in RESCUED.with(|rescued| rescued.take()) {
                self.intake.buffered += documents.len();
                self.intake.batch_for(route).extend(documents);
            }
            let held = self.intake.buffered as u64;
            let settled = |c: &Counters| {
                [&c.spooled, &c.dropped, &c.failed]
                    .iter()
                    .map(|n| n.load(std::sync::atomic::Ordering::Relaxed))
                    .sum::<u64>()
            };
            let before = settled(&self.counters);
            let saved = catch_unwind(AssertUnwindSafe(|| self.spool_held()));
            if saved.is_err() {
                // Whatever spooling did not account for is lost: counted.
                let accounted = settled(&self.counters) - before;
                Counters::add(&self.counters.failed, held.saturating_sub(accounted));
                self.intake.batches.clear();
                self.intake.buffered = 0;
            }
        }
    }

    async fn serve(&mut self) {
        let mut next_flush = later(self.settings.flush_interval);
        loop {
            // Take what is queued, writing full batches as they fill; a
            // bounded amount per round, so requests are not kept waiting.
            let mut taken = 0;
            while let Some(event) = self.queue.pop() {
                self.intake.take(event);
                if self.intake.buffered >= self.settings.batch_size {
                    self.flush().await;
                }
                taken += 1;
                if taken >= 4 * self.settings.batch_size {
                    break;
                }
            }
            self.publish_held();
            let controls = self.queue.take_controls();
            if !controls.is_empty() {
                if self.answer(controls).await {
                    return;
                }
                continue;
            }
            if Instant::now() >= next_flush {
                self.flush().await;
                self.maintain().await;
                next_flush = later(self.settings.flush_interval);
            }
            if self.queue.is_empty() && !self.queue.has_controls() {
                // Woken early by a full batch or a request (`EventQueue`).
                std::thread::park_timeout(next_flush.saturating_duration_since(Instant::now()));
            }
        }
    }

    /// Answers flush and shutdown requests: takes in every event queued
    /// before them, writes everything, delivers the spool while MongoDB
    /// answers, then acknowledges. Returns whether the writer must stop.
    async fn answer(&mut self, controls: Vec<Control>) -> bool {
        let mut acks = Vec::with_capacity(controls.len());
        let mut deadline = None;
        for control in controls {
            match control {
                Control::Flush(ack) => acks.push(ack),
                Control::Shutdown(ack, until) => {
                    acks.push(ack);
                    deadline = Some(deadline.map_or(until, |d: Instant| d.min(until)));
                }
            }
        }
        while let Some(event) = self.queue.pop() {
            self.intake.take(event);
        }
        if let Some(deadline) = deadline {
            self.deadline = Some(deadline);
            self.shut_down().await;
            // Requests that raced with closing are answered too.
            for control in self.queue.take_controls() {
                match control {
                    Control::Flush(ack) | Control::Shutdown(ack, _) => acks.push(ack),
                }
            }
        } else {
            self.flush().await;
            self.note_spilled();
            while self.online && self.replay_pending && self.replay_one().await {}
        }
        self.publish_held();
        for ack in acks {
            let _ = ack.send(());
        }
        deadline.is_some()
    }

    /// Everything held goes to disk first, whatever the server does; then
    /// it is delivered, and older segments replayed, while the deadline
    /// allows. What MongoDB did not acknowledge stays in the spool for the
    /// next process.
    async fn shut_down(&mut self) {
        let batches: Vec<(Route, Vec<RawDocumentBuf>)> = std::mem::take(&mut self.intake.batches)
            .into_iter()
            .collect();
        self.intake.buffered = 0;
        let mut held = Vec::with_capacity(batches.len());
        for (route, mut documents) in batches {
            // Marked acknowledged: a batch MongoDB takes below is not
            // replayed; one it does not take marks the segment.
            let on_disk = self.try_append(&route, &mut documents, true).is_ok();
            held.push((route, documents, on_disk));
        }
        self.publish_held();
        for (route, documents, on_disk) in held {
            for chunk in documents.chunks(self.settings.batch_size.max(1)) {
                let delivered = self.online
                    && matches!(
                        self.insert_batch(&route, chunk, false).await,
                        Delivery::Done { ref retry } if retry.is_empty()
                    );
                if delivered {
                    continue;
                }
                if on_disk {
                    self.lock_spool().mark_unacknowledged();
                    Counters::add(&self.counters.spooled, chunk.len() as u64);
                    self.replay_pending = true;
                } else {
                    // No room on disk and MongoDB did not take it.
                    Counters::add(&self.counters.dropped, chunk.len() as u64);
                    self.report(&format!(
                        "at shutdown, {} event(s) fit neither MongoDB nor the spool: dropped",
                        chunk.len()
                    ));
                }
            }
        }
        self.note_spilled();
        while self.online && self.replay_pending && self.time_left() && self.replay_one().await {}
        let sealed = self.lock_spool().seal();
        if let Err(error) = sealed {
            self.report(&format!("cannot close the spool segment: {error}"));
        }
    }

    fn time_left(&self) -> bool {
        self.deadline.is_none_or(|d| Instant::now() < d)
    }

    /// After a panic: what the writer held goes to the spool.
    fn spool_held(&mut self) {
        let batches = std::mem::take(&mut self.intake.batches);
        self.intake.buffered = 0;
        for (route, documents) in batches {
            let kept = self.append_or_drop(&route, documents, false);
            Counters::add(&self.counters.spooled, kept as u64);
        }
        self.replay_pending = true;
        self.publish_held();
    }

    /// Tells the handle how many events live only in the writer's memory.
    fn publish_held(&self) {
        Counters::set(&self.counters.held, self.intake.buffered as u64);
    }

    /// Events spilled to the spool by callers (queue full), and segments
    /// sealed or left torn with them, are replayed like any other
    /// unacknowledged segment.
    fn note_spilled(&mut self) {
        if !self.replay_pending && self.lock_spool().take_replay_due() {
            self.replay_pending = true;
        }
    }

    async fn flush(&mut self) {
        if self.intake.buffered == 0 {
            return;
        }
        let size = self.settings.batch_size.max(1);
        let mut unsent = Unsent(Vec::with_capacity(self.intake.batches.len()));
        for (route, mut documents) in std::mem::take(&mut self.intake.batches) {
            while documents.len() > size {
                let rest = documents.split_off(size);
                unsent.0.push((route.clone(), documents));
                documents = rest;
            }
            unsent.0.push((route, documents));
        }
        self.intake.buffered = 0;
        // Delivered from the back: reversed, so each collection's events
        // go in the order they came.
        unsent.0.reverse();
        while let Some((route, documents)) = unsent.0.last_mut() {
            self.deliver(route, documents).await;
            unsent.0.pop();
        }
    }

    fn report(&self, message: &str) {
        self.counters.set_last_error(self.reporter.report(message));
    }
}

mod insert;
mod replay;
mod spooling;
