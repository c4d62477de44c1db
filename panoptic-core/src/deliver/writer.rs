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
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bson::RawDocumentBuf;

use crate::bson_bytes::WriteBson;

use crate::connect::MongoSettings;
use crate::deliver::document::{Owner, Route};
use crate::deliver::intake::Intake;
use crate::deliver::mongo::{InsertOutcome, Mongo};
use crate::deliver::queue::{Control, EventQueue};
use crate::deliver::spill::Spiller;
use crate::report::ErrorReporter;
use crate::spool::{
    SegmentItem, SegmentReader, SpoolOptions, SpoolWriter, claim_oldest, keep_dead_letter,
    set_aside,
};
use crate::stats::Counters;

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

    /// One batch: appended to the spool first in write-ahead mode, inserted
    /// when online, spooled when that cannot be done.
    async fn deliver(&mut self, route: &Route, documents: &mut Vec<RawDocumentBuf>) {
        crate::fault::check(documents);
        // In write-ahead mode a spool without room only loses the
        // write-ahead: the batch is still inserted.
        let on_disk = self.settings.write_ahead && self.try_append(route, documents, true).is_ok();
        if documents.is_empty() {
            return;
        }
        let outcome = if self.online {
            self.insert_batch(route, documents, false).await
        } else {
            Delivery::Unreachable(String::new())
        };
        let mut retry: Vec<usize> = match outcome {
            Delivery::Done { retry } => retry,
            Delivery::Unreachable(reason) => {
                if !reason.is_empty() {
                    self.go_offline(&reason);
                }
                (0..documents.len()).collect()
            }
            Delivery::Refused(reason) => {
                // Kept in the spool; its replay sets the segment aside with
                // the reason, without holding up other collections.
                self.report(&reason);
                (0..documents.len()).collect()
            }
            Delivery::Interrupted => (0..documents.len()).collect(),
        };
        if !retry.is_empty() {
            retry.sort_unstable();
            if on_disk {
                self.lock_spool().mark_unacknowledged();
                Counters::add(&self.counters.spooled, retry.len() as u64);
            } else {
                let again = pick(std::mem::take(documents), &retry);
                let kept = self.append_or_drop(route, again, false);
                Counters::add(&self.counters.spooled, kept as u64);
            }
            self.replay_pending = true;
        }
        let sealed = self.lock_spool().seal_if_full();
        if let Err(error) = sealed {
            self.report(&format!("cannot seal a spool segment: {error}"));
        }
    }

    /// Appends a batch to the spool, all or nothing. An event the spool can
    /// never hold (too large) is taken out of `documents` into a dead
    /// letter first. Fails, writing nothing, when there is no room (the
    /// cap, a full disk) or the disk refuses.
    fn try_append(
        &mut self,
        route: &Route,
        documents: &mut Vec<RawDocumentBuf>,
        acknowledged: bool,
    ) -> Result<(), std::io::Error> {
        let spool = Arc::clone(&self.spool);
        let mut spool = spool
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        spool.append_sparing(
            &route.database,
            &route.collection,
            documents,
            acknowledged,
            |document, reason| {
                self.dead_letter(route, &document, &format!("cannot be spooled: {reason}"))
            },
        )
    }

    /// Appends a batch the writer cannot deliver; returns how many events
    /// the spool took. What had no room is dropped, counted and reported.
    fn append_or_drop(
        &mut self,
        route: &Route,
        mut documents: Vec<RawDocumentBuf>,
        acknowledged: bool,
    ) -> usize {
        match self.try_append(route, &mut documents, acknowledged) {
            Ok(()) => documents.len(),
            Err(error) => {
                Counters::add(&self.counters.dropped, documents.len() as u64);
                self.report(&format!(
                    "cannot write to the spool ({error}); {} event(s) dropped",
                    documents.len()
                ));
                0
            }
        }
    }

    /// Keeps an event MongoDB can never take in a dead-letter file.
    fn dead_letter(&mut self, route: &Route, document: &impl WriteBson, reason: &str) {
        let message = keep_dead_letter(
            &self.settings.spool_dir,
            &self.counters,
            (&route.database, &route.collection),
            document,
            reason,
        );
        self.report(&message);
    }

    fn lock_spool(&self) -> MutexGuard<'_, SpoolWriter> {
        self.spool
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn go_offline(&mut self, reason: &str) {
        if self.online {
            self.report(&format!(
                "MongoDB unavailable ({reason}); events go to the spool at {} until it answers",
                self.settings.spool_dir.display()
            ));
        }
        self.online = false;
        self.mongo.disconnect();
        self.schedule_ping();
    }

    /// The next ping, each one further away (exponential back-off); only a
    /// delivered batch resets the interval.
    fn schedule_ping(&mut self) {
        self.next_ping = later(self.retry_interval);
        self.retry_interval = self
            .retry_interval
            .saturating_mul(2)
            .min(MAX_RETRY_INTERVAL);
    }

    /// Between flushes: ping while offline, replay one segment while online.
    async fn maintain(&mut self) {
        self.note_spilled();
        if !self.online {
            if Instant::now() < self.next_ping {
                return;
            }
            let limit = self.mongo.operation_timeout();
            // A shutdown request does not wait for a ping to a frozen server.
            let queue = Arc::clone(&self.queue);
            let interrupt = move || queue.is_closed();
            match self.mongo.ping(limit, &interrupt).await {
                Ok(()) => {
                    self.online = true;
                    self.replay_pending = true;
                }
                Err(reason) => {
                    // Still down: no new line on stderr, just try later.
                    self.counters.set_last_error(self.reporter.redact(&reason));
                    self.mongo.disconnect();
                    self.schedule_ping();
                    return;
                }
            }
        }
        if self.replay_pending {
            self.replay_one().await;
        }
    }

    /// Replays the oldest unclaimed segment, streaming it record by record.
    /// The active segment is sealed first when it holds events MongoDB
    /// lacks, so they are replayed too. Returns whether the segment is done
    /// with (so a caller may go on).
    async fn replay_one(&mut self) -> bool {
        let claimed = {
            let mut spool = self.lock_spool();
            if spool.has_unacknowledged()
                && let Err(error) = spool.seal()
            {
                drop(spool);
                self.report(&format!("cannot seal a spool segment: {error}"));
                return false;
            }
            // The scan below sees every segment closed so far.
            spool.take_replay_due();
            let dir = spool.dir().to_owned();
            let active = spool.active_path().map(ToOwned::to_owned);
            drop(spool);
            claim_oldest(&dir, active.as_deref())
        };
        let segment = match claimed {
            Ok(Some(segment)) => segment,
            Ok(None) => {
                self.replay_pending = false;
                return false;
            }
            Err(error) => {
                self.report(&format!("cannot read the spool: {error}"));
                return false;
            }
        };
        let path = segment.path.clone();
        let reader = match SegmentReader::open(&path) {
            Ok(reader) => reader,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return true,
            Err(error) if error.kind() == std::io::ErrorKind::InvalidData => {
                return self.set_aside(&path, "not a spool segment");
            }
            Err(error) => {
                self.report(&format!("cannot read {}: {error}", path.display()));
                return false;
            }
        };
        let mut pending: Vec<(Route, Vec<RawDocumentBuf>)> = Vec::new();
        let mut refused: HashMap<Route, String> = HashMap::new();
        let mut damage = Vec::new();
        for item in reader {
            let event = match item {
                Ok(SegmentItem::Record(event)) => event,
                Ok(SegmentItem::Corrupt { offset, bytes }) => {
                    Counters::add(&self.counters.corrupt_regions, 1);
                    damage.push(format!("{bytes} unreadable byte(s) at {offset}"));
                    continue;
                }
                Ok(SegmentItem::Invalid { event, reason }) => {
                    let route = Route {
                        database: event.database.into(),
                        collection: event.collection.into(),
                    };
                    self.dead_letter(
                        &route,
                        &event.document,
                        &format!("not replayable: {reason}"),
                    );
                    continue;
                }
                Err(error) => {
                    self.report(&format!("cannot read {}: {error}", path.display()));
                    return false;
                }
            };
            // A segment holds few routes, usually one: a short search
            // costs less than building and hashing a route per event.
            let known = pending.iter().position(|(r, _)| {
                *r.database == *event.database && *r.collection == *event.collection
            });
            let at = known.unwrap_or_else(|| {
                let route = Route {
                    database: event.database.into(),
                    collection: event.collection.into(),
                };
                pending.push((route, Vec::new()));
                pending.len() - 1
            });
            if refused.contains_key(&pending[at].0) {
                continue;
            }
            let (route, batch) = &mut pending[at];
            batch.push(event.document);
            if batch.len() >= self.settings.batch_size.max(1) {
                let batch = std::mem::take(batch);
                let route = route.clone();
                if !self.replay_batch(&route, &batch, &mut refused).await {
                    return false;
                }
            }
        }
        for (route, batch) in pending {
            if !batch.is_empty()
                && !refused.contains_key(&route)
                && !self.replay_batch(&route, &batch, &mut refused).await
            {
                return false;
            }
        }
        let mut reasons: Vec<String> = refused
            .into_iter()
            .map(|(route, reason)| format!("{}.{}: {reason}", route.database, route.collection))
            .collect();
        reasons.extend(damage);
        if !reasons.is_empty() {
            return self.set_aside(&path, &reasons.join("; "));
        }
        if let Err(error) = std::fs::remove_file(&path) {
            self.report(&format!(
                "replayed {} but cannot delete it: {error}",
                path.display()
            ));
            return false;
        }
        true
    }

    /// One batch of a segment being replayed. False when the replay must
    /// stop and the segment be kept for later (MongoDB away).
    async fn replay_batch(
        &mut self,
        route: &Route,
        batch: &[RawDocumentBuf],
        refused: &mut HashMap<Route, String>,
    ) -> bool {
        match self.insert_batch(route, batch, true).await {
            Delivery::Done { retry } if retry.is_empty() => true,
            Delivery::Done { .. } => {
                self.go_offline("MongoDB asked to retry some writes later");
                false
            }
            Delivery::Unreachable(reason) => {
                self.go_offline(&reason);
                false
            }
            Delivery::Refused(reason) => {
                refused.insert(route.clone(), reason);
                true
            }
            Delivery::Interrupted => false,
        }
    }

    fn set_aside(&mut self, path: &std::path::Path, reason: &str) -> bool {
        match set_aside(path, reason) {
            Ok(aside) => {
                Counters::add(&self.counters.set_aside, 1);
                self.report(&format!(
                    "spool segment set aside as {} ({reason}); `panoptic replay --retry-set-aside` tries it again",
                    aside.display()
                ));
                true
            }
            Err(error) => {
                self.report(&format!("cannot set aside {}: {error}", path.display()));
                false
            }
        }
    }

    /// Inserts one batch within the operation timeout (or what is left of
    /// the shutdown deadline), counting what MongoDB took and keeping what
    /// it refuses for good in dead letters.
    async fn insert_batch(
        &mut self,
        route: &Route,
        documents: &[RawDocumentBuf],
        replay: bool,
    ) -> Delivery {
        if documents.is_empty() {
            return Delivery::Done { retry: Vec::new() };
        }
        let outcome = self.insert_once(route, documents).await;
        let (written, duplicates, retry, rejected) = match outcome {
            InsertOutcome::Answered {
                written,
                duplicates,
                retry,
                rejected,
            } => (written, duplicates, retry, rejected),
            InsertOutcome::Unreachable(reason) => return Delivery::Unreachable(reason),
            InsertOutcome::Refused(reason) => return Delivery::Refused(reason),
            InsertOutcome::Interrupted => return Delivery::Interrupted,
            InsertOutcome::NotSent(_) if documents.len() > 1 => {
                // One document spoils the batch: find it by sending them
                // one by one.
                return self.insert_one_by_one(route, documents, replay).await;
            }
            InsertOutcome::NotSent(reason) => {
                self.dead_letter(route, &documents[0], &reason);
                return Delivery::Done { retry: Vec::new() };
            }
        };
        self.count_delivered(written, duplicates, replay);
        for (index, reason) in rejected {
            self.dead_letter(route, &documents[index], &reason);
        }
        Delivery::Done { retry }
    }

    async fn insert_one_by_one(
        &mut self,
        route: &Route,
        documents: &[RawDocumentBuf],
        replay: bool,
    ) -> Delivery {
        let mut retry = Vec::new();
        for (index, document) in documents.iter().enumerate() {
            match self
                .insert_once(route, std::slice::from_ref(document))
                .await
            {
                InsertOutcome::Answered {
                    written,
                    duplicates,
                    retry: again,
                    rejected,
                } => {
                    self.count_delivered(written, duplicates, replay);
                    if !again.is_empty() {
                        retry.push(index);
                    }
                    for (_, why) in rejected {
                        self.dead_letter(route, document, &why);
                    }
                }
                InsertOutcome::NotSent(why) => {
                    self.dead_letter(route, document, &why);
                }
                InsertOutcome::Refused(why) => return Delivery::Refused(why),
                InsertOutcome::Unreachable(_) | InsertOutcome::Interrupted => retry.push(index),
            }
        }
        Delivery::Done { retry }
    }

    async fn insert_once(&mut self, route: &Route, documents: &[RawDocumentBuf]) -> InsertOutcome {
        let mut limit = self.mongo.operation_timeout();
        if let Some(deadline) = self.deadline {
            limit = limit.min(deadline.saturating_duration_since(Instant::now()));
        }
        // Until shutdown, a shutdown request cuts the wait short; during
        // shutdown, the deadline does.
        let queue = Arc::clone(&self.queue);
        let running = self.deadline.is_none();
        let interrupt = move || running && queue.is_closed();
        let insert = self.mongo.insert(route, documents, limit, &interrupt);
        if !running {
            return insert.await;
        }
        // Pipelined: the next batch is taken in and encoded while MongoDB
        // works on this one. One batch at most, so that what a crash can
        // lose stays what the README states (the queue, the batch being
        // built, the batch in flight).
        let fill = self
            .intake
            .fill(&self.queue, self.settings.batch_size.max(1));
        tokio::select! {
            biased;
            outcome = insert => outcome,
            () = fill => unreachable!("filling never ends"),
        }
    }

    fn count_delivered(&mut self, written: u64, duplicates: u64, replay: bool) {
        Counters::add(&self.counters.written, written);
        Counters::add(&self.counters.duplicates, duplicates);
        if replay {
            Counters::add(&self.counters.replayed, written + duplicates);
        }
        if written + duplicates > 0 {
            self.retry_interval = self.settings.retry_interval;
        }
    }

    fn report(&self, message: &str) {
        self.counters.set_last_error(self.reporter.report(message));
    }
}

/// The documents at `indices` (ascending), moved out of `documents`.
fn pick(documents: Vec<RawDocumentBuf>, indices: &[usize]) -> Vec<RawDocumentBuf> {
    if indices.len() == documents.len() {
        return documents;
    }
    documents
        .into_iter()
        .enumerate()
        .filter(|(i, _)| indices.binary_search(i).is_ok())
        .map(|(_, d)| d)
        .collect()
}
