//! The background writer: batches events per collection, writes them with
//! unordered `insert_many`, and keeps nothing only in memory that MongoDB
//! has not acknowledged for longer than it must.
//!
//! While MongoDB answers, batches go straight in (in write-ahead mode they
//! are appended to the spool first). When a write fails for any reason but
//! a refused document, the writer goes offline: batches go to the spool,
//! and a ping is tried with growing intervals. Once MongoDB answers again,
//! spooled segments are replayed oldest first, one per tick, and deleted
//! only after every event in them is acknowledged. A duplicate `_id`
//! (error 11000) means MongoDB already had the event: delivered, counted
//! once.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bson::{Document, doc};
use mongodb::error::{ErrorKind, WriteFailure};
use mongodb::options::{ClientOptions, Credential};
use mongodb::{Client, IndexModel};

use std::path::PathBuf;

use mongodb::options::ConnectionString;

use crate::call_event::CallEvent;
use crate::config::Credentials;
use crate::document::{Owner, Route, call_document};
use crate::event::BillingEvent;
use crate::queue::{Control, Event, EventQueue};
use crate::report::ErrorReporter;
use crate::spool::{SpoolWriter, claim_oldest, read_segment};
use crate::stats::Counters;

/// Settings of the writer.
#[derive(Clone)]
pub(crate) struct WriterSettings {
    pub uri: ConnectionString,
    pub credentials: Option<Credentials>,
    pub batch_size: usize,
    pub flush_interval: Duration,
    pub queue_capacity: usize,
    pub server_timeout: Duration,
    pub retry_interval: Duration,
    pub spool_dir: PathBuf,
    pub segment_bytes: u64,
    pub write_ahead: bool,
    pub fsync: bool,
    /// The handle's own username, project and env, for calls logged through
    /// its child loggers.
    pub owner: Arc<Owner>,
}

/// Longest wait between two pings while MongoDB is unreachable.
const MAX_RETRY_INTERVAL: Duration = Duration::from_secs(10);

pub(crate) struct Writer {
    pub settings: WriterSettings,
    pub queue: Arc<EventQueue>,
    pub counters: Arc<Counters>,
    pub reporter: Arc<ErrorReporter>,
    pub spool: Arc<std::sync::Mutex<SpoolWriter>>,
    client: Option<Client>,
    indexed: HashSet<Route>,
    batches: HashMap<Route, Vec<Document>>,
    buffered: usize,
    online: bool,
    retry_interval: Duration,
    next_ping: Instant,
    /// Whether the spool folder may hold segments to replay.
    replay_pending: bool,
    /// Set by a shutdown request: batches are spooled before they are sent.
    shutting_down: bool,
}

/// How one insert ended.
enum WriteOutcome {
    /// Every document is in MongoDB (written now or already there).
    Delivered,
    /// MongoDB could not be reached or refused the whole operation (the
    /// reason, if a write was tried): retry later.
    Unreachable(Option<String>),
}

impl Writer {
    pub fn new(
        settings: WriterSettings,
        queue: Arc<EventQueue>,
        counters: Arc<Counters>,
        reporter: Arc<ErrorReporter>,
        spool: Arc<std::sync::Mutex<SpoolWriter>>,
    ) -> Writer {
        Writer {
            retry_interval: settings.retry_interval,
            settings,
            queue,
            counters,
            reporter,
            spool,
            client: None,
            indexed: HashSet::new(),
            batches: HashMap::new(),
            buffered: 0,
            online: true,
            next_ping: Instant::now(),
            replay_pending: true,
            shutting_down: false,
        }
    }

    pub fn run(mut self) {
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime,
            Err(error) => {
                self.report(&format!("cannot start the writer runtime: {error}"));
                return;
            }
        };
        runtime.block_on(self.serve());
    }

    async fn serve(&mut self) {
        self.queue.register_writer();
        let mut next_flush = Instant::now() + self.settings.flush_interval;
        loop {
            // Take what is queued, writing full batches as they fill; a
            // bounded amount per round, so requests are not kept waiting.
            let mut taken = 0;
            while let Some(event) = self.queue.pop() {
                self.take(event);
                if self.buffered >= self.settings.batch_size {
                    self.flush().await;
                }
                taken += 1;
                if taken >= 4 * self.settings.batch_size {
                    break;
                }
            }
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
                next_flush = Instant::now() + self.settings.flush_interval;
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
        let mut stop = false;
        for control in controls {
            match control {
                Control::Flush(ack) => acks.push(ack),
                Control::Shutdown(ack) => {
                    acks.push(ack);
                    stop = true;
                }
            }
        }
        if stop {
            self.queue.close();
            // A push that saw the queue open may land just after closing.
            std::thread::yield_now();
            // The caller may give up waiting (its deadline) and exit while an
            // insert hangs: from here on every batch is on disk first.
            self.shutting_down = true;
        }
        while let Some(event) = self.queue.pop() {
            self.take(event);
        }
        self.flush().await;
        self.note_spilled();
        while self.online && self.replay_pending && self.replay_one().await {}
        if stop {
            self.close_spool();
            // Requests that raced with closing are answered too.
            for control in self.queue.take_controls() {
                match control {
                    Control::Flush(ack) | Control::Shutdown(ack) => acks.push(ack),
                }
            }
        }
        for ack in acks {
            let _ = ack.send(());
        }
        stop
    }

    /// Events spilled to the spool by callers (queue full) are replayed like
    /// any other unacknowledged segment.
    fn note_spilled(&mut self) {
        if !self.replay_pending && self.lock_spool().has_unacknowledged() {
            self.replay_pending = true;
        }
    }

    fn take(&mut self, event: Event) {
        match event {
            Event::Call(call) => self.take_call(&call),
            Event::Record(record) => self.take_event(*record),
        }
    }

    fn take_call(&mut self, call: &CallEvent) {
        Counters::add(&self.counters.emitted, 1);
        let (route, document) = call_document(call, &self.settings.owner);
        self.push(route, document);
    }

    fn take_event(&mut self, event: BillingEvent) {
        Counters::add(&self.counters.emitted, 1);
        self.push(Route::of_event(&event), event.into_document());
    }

    fn push(&mut self, route: Route, document: Document) {
        self.batches.entry(route).or_default().push(document);
        self.buffered += 1;
    }

    async fn flush(&mut self) {
        if self.buffered == 0 {
            return;
        }
        let batches = std::mem::take(&mut self.batches);
        self.buffered = 0;
        for (route, documents) in batches {
            for chunk in documents.chunks(self.settings.batch_size.max(1)) {
                self.deliver(&route, chunk).await;
            }
        }
    }

    /// One batch: appended to the spool first in write-ahead mode, inserted
    /// when online, spooled when that cannot be done.
    async fn deliver(&mut self, route: &Route, documents: &[Document]) {
        let count = documents.len() as u64;
        let ahead = (self.settings.write_ahead || self.shutting_down)
            && self.append(route, documents, true);
        let outcome = if self.online {
            self.insert(route, documents, false).await
        } else {
            WriteOutcome::Unreachable(None)
        };
        if let WriteOutcome::Unreachable(reason) = outcome {
            if let Some(reason) = reason {
                self.go_offline(&reason);
            }
            if ahead {
                self.lock_spool().mark_unacknowledged();
                Counters::add(&self.counters.spooled, count);
                self.replay_pending = true;
            } else if self.append(route, documents, false) {
                Counters::add(&self.counters.spooled, count);
                self.replay_pending = true;
            } else {
                Counters::add(&self.counters.failed, count);
            }
        }
        let sealed = self.lock_spool().seal_if_full();
        if let Err(error) = sealed {
            self.report(&format!("cannot seal a spool segment: {error}"));
        }
    }

    /// Appends a batch to the spool; false when the disk refuses.
    fn append(&mut self, route: &Route, documents: &[Document], acknowledged: bool) -> bool {
        let result =
            self.lock_spool()
                .append(&route.database, &route.collection, documents, acknowledged);
        match result {
            Ok(()) => true,
            Err(error) => {
                self.report(&format!("cannot write to the spool: {error}"));
                false
            }
        }
    }

    fn lock_spool(&self) -> std::sync::MutexGuard<'_, SpoolWriter> {
        self.spool
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn go_offline(&mut self, reason: &str) {
        if self.online {
            self.report(&format!(
                "MongoDB unavailable ({reason}); events go to the spool at {} until it answers",
                self.lock_spool().dir().display()
            ));
        }
        self.online = false;
        self.client = None;
        self.schedule_ping();
    }

    fn schedule_ping(&mut self) {
        self.next_ping = Instant::now() + self.retry_interval;
        self.retry_interval = (self.retry_interval * 2).min(MAX_RETRY_INTERVAL);
    }

    /// Between flushes: ping while offline, replay one segment while online.
    async fn maintain(&mut self) {
        self.note_spilled();
        if !self.online {
            if Instant::now() < self.next_ping {
                return;
            }
            match self.ping().await {
                Ok(()) => {
                    self.online = true;
                    self.retry_interval = self.settings.retry_interval;
                    self.replay_pending = true;
                }
                Err(reason) => {
                    // Still down: no new line on stderr, just try later.
                    self.counters.set_last_error(self.reporter.redact(&reason));
                    self.client = None;
                    self.schedule_ping();
                    return;
                }
            }
        }
        if self.replay_pending {
            self.replay_one().await;
        }
    }

    async fn ping(&mut self) -> Result<(), String> {
        let client = self.client().await.map_err(|e| describe(&e))?;
        client
            .database("admin")
            .run_command(doc! { "ping": 1 })
            .await
            .map(|_| ())
            .map_err(|e| describe(&e))
    }

    /// Replays the oldest unclaimed segment. The active segment is sealed
    /// first when it holds events MongoDB lacks, so they are replayed too.
    /// Returns whether a segment was delivered (so a caller may go on).
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
        let contents = match read_segment(&segment.path) {
            Ok(contents) => contents,
            Err(error) => {
                self.report(&format!("cannot read {}: {error}", segment.path.display()));
                return false;
            }
        };
        if contents.events.is_empty() && contents.torn_at == Some(0) {
            // Not a segment we wrote: set it aside rather than delete it.
            let aside = segment.path.with_extension("corrupt");
            if let Err(error) = std::fs::rename(&segment.path, &aside) {
                self.report(&format!(
                    "cannot set aside {}: {error}",
                    segment.path.display()
                ));
                return false;
            }
            return true;
        }
        let mut by_route: HashMap<Route, Vec<Document>> = HashMap::new();
        for event in contents.events {
            by_route
                .entry(Route {
                    database: event.database,
                    collection: event.collection,
                })
                .or_default()
                .push(event.document);
        }
        for (route, documents) in &by_route {
            for chunk in documents.chunks(self.settings.batch_size.max(1)) {
                if let WriteOutcome::Unreachable(reason) = self.insert(route, chunk, true).await {
                    // Keep the segment; it is replayed again, whole, later.
                    self.go_offline(reason.as_deref().unwrap_or("unreachable"));
                    return false;
                }
            }
        }
        if let Err(error) = std::fs::remove_file(&segment.path) {
            self.report(&format!(
                "replayed {} but cannot delete it: {error}",
                segment.path.display()
            ));
            return false;
        }
        true
    }

    /// Inserts one batch, creating the collection's indexes on its first
    /// write. Refused documents are counted failed; the rest delivered.
    async fn insert(
        &mut self,
        route: &Route,
        documents: &[Document],
        replay: bool,
    ) -> WriteOutcome {
        let count = documents.len() as u64;
        let client = match self.client().await {
            Ok(client) => client,
            Err(error) => return WriteOutcome::Unreachable(Some(describe(&error))),
        };
        let Route {
            database,
            collection: collection_name,
        } = route;
        let collection = client
            .database(database)
            .collection::<Document>(collection_name);
        if !self.indexed.contains(route) {
            if let Err(error) = collection.create_indexes(index_models()).await {
                return WriteOutcome::Unreachable(Some(format!(
                    "cannot create indexes on {database}.{collection_name}: {}",
                    describe(&error)
                )));
            }
            self.indexed.insert(route.clone());
        }
        let counters = Arc::clone(&self.counters);
        let delivered = |written: u64, duplicates: u64| {
            Counters::add(&counters.written, written);
            Counters::add(&counters.duplicates, duplicates);
            if replay {
                Counters::add(&counters.replayed, written + duplicates);
            }
        };
        let error = match collection.insert_many(documents).ordered(false).await {
            Ok(_) => {
                delivered(count, 0);
                return WriteOutcome::Delivered;
            }
            Err(error) => error,
        };
        match error.kind.as_ref() {
            ErrorKind::InsertMany(failure) if failure.write_concern_error.is_none() => {
                // Unordered: every document without a write error was written.
                let write_errors = failure.write_errors.as_deref().unwrap_or_default();
                let duplicates = write_errors.iter().filter(|e| e.code == 11000).count() as u64;
                let refused = write_errors.len() as u64 - duplicates;
                delivered(count.saturating_sub(duplicates + refused), duplicates);
                if refused > 0 {
                    Counters::add(&self.counters.failed, refused);
                    if let Some(first) = write_errors.iter().find(|e| e.code != 11000) {
                        self.report(&format!(
                            "MongoDB refused {refused} event(s) in {database}.{collection_name}: {}",
                            first.message
                        ));
                    }
                }
                WriteOutcome::Delivered
            }
            ErrorKind::Write(WriteFailure::WriteError(e)) if e.code == 11000 => {
                delivered(0, count);
                WriteOutcome::Delivered
            }
            _ => WriteOutcome::Unreachable(Some(describe(&error))),
        }
    }

    async fn client(&mut self) -> Result<Client, mongodb::error::Error> {
        if let Some(client) = &self.client {
            return Ok(client.clone());
        }
        let mut options = ClientOptions::parse(self.settings.uri.clone()).await?;
        options
            .app_name
            .get_or_insert_with(|| "panoptic".to_owned());
        options.server_selection_timeout = Some(self.settings.server_timeout);
        options
            .connect_timeout
            .get_or_insert(self.settings.server_timeout);
        if let Some(credentials) = &self.settings.credentials
            && options.credential.is_none()
        {
            options.credential = Some(
                Credential::builder()
                    .username(credentials.user.clone())
                    .password(credentials.password.clone())
                    .build(),
            );
        }
        let client = Client::with_options(options)?;
        self.client = Some(client.clone());
        Ok(client)
    }

    /// On shutdown: events MongoDB lacks stay in a sealed segment for the
    /// next process; a fully acknowledged write-ahead segment is deleted.
    fn close_spool(&mut self) {
        let result = self.lock_spool().seal();
        if let Err(error) = result {
            self.report(&format!("cannot close the spool segment: {error}"));
        }
    }

    fn report(&self, message: &str) {
        self.counters.set_last_error(self.reporter.report(message));
    }
}

/// One short line for a driver error: its Display carries debug dumps of
/// nested errors, too much for a log line.
fn describe(error: &mongodb::error::Error) -> String {
    let text = match error.kind.as_ref() {
        ErrorKind::Authentication { message, .. } => format!("authentication failed: {message}"),
        ErrorKind::ServerSelection { message, .. } => {
            let first = message.split(". ").next().unwrap_or(message);
            format!("no server answered: {first}")
        }
        ErrorKind::Io(e) => format!("I/O error: {e}"),
        ErrorKind::Command(e) => format!("{} ({}): {}", e.code_name, e.code, e.message),
        ErrorKind::InvalidArgument { message, .. } => format!("invalid argument: {message}"),
        ErrorKind::DnsResolve { message, .. } => format!("DNS resolution failed: {message}"),
        _ => error.to_string(),
    };
    const LIMIT: usize = 300;
    match text.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// The keys of the indexes every event collection gets on its first write:
/// `{ts: -1}`, `{service: 1}`, `{env: 1}`, `{ts: -1, service: 1}`.
///
/// ```
/// assert_eq!(panoptic_core::index_keys().len(), 4);
/// ```
pub fn index_keys() -> [Document; 4] {
    [
        doc! { "ts": -1 },
        doc! { "service": 1 },
        doc! { "env": 1 },
        doc! { "ts": -1, "service": 1 },
    ]
}

/// The index models for `create_indexes`.
pub fn index_models() -> Vec<IndexModel> {
    index_keys()
        .into_iter()
        .map(|keys| IndexModel::builder().keys(keys).build())
        .collect()
}
