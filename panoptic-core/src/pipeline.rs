//! From a slog record to MongoDB: the drain hands events to a bounded
//! channel; one background thread batches them per collection, creates the
//! indexes of a collection on its first write, and writes with unordered
//! `insert_many`. Nothing here blocks the caller or reports to it.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bson::oid::ObjectId;
use bson::{Document, doc};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};
use mongodb::error::{ErrorKind, WriteFailure};
use mongodb::options::{ClientOptions, ConnectionString, Credential};
use mongodb::{Client, IndexModel};
use slog::{Drain, Never, OwnedKVList, Record};

use crate::call::CallEvent;
use crate::context::Context;
use crate::event::{BillingEvent, Kind, Metadata};
use crate::naming::{canonical_env, collection_name, database_name};
use crate::report::ErrorReporter;
use crate::stats::Counters;

/// What the writer thread is asked to do.
pub(crate) enum Message {
    Call(Box<CallEvent>),
    Record(Box<BillingEvent>),
    /// Write everything received so far, then answer.
    Flush(Sender<()>),
    /// Write everything, answer, and stop.
    Shutdown(Sender<()>),
}

/// Settings of the writer.
#[derive(Clone)]
pub(crate) struct PipelineSettings {
    pub uri: ConnectionString,
    pub credentials: Option<crate::config::Credentials>,
    pub batch_size: usize,
    pub flush_interval: Duration,
    pub queue_capacity: usize,
    pub server_timeout: Duration,
}

/// The sending half, shared by the drain and the handle.
pub(crate) struct Pipeline {
    sender: Sender<Message>,
    pub counters: Arc<Counters>,
    pub reporter: Arc<ErrorReporter>,
    worker: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl Pipeline {
    pub fn start(
        settings: PipelineSettings,
        reporter: Arc<ErrorReporter>,
    ) -> std::io::Result<Pipeline> {
        let (sender, receiver) = crossbeam_channel::bounded(settings.queue_capacity);
        let counters = Arc::new(Counters::default());
        let writer = Writer {
            settings,
            receiver,
            counters: Arc::clone(&counters),
            reporter: Arc::clone(&reporter),
            client: None,
            indexed: HashSet::new(),
            batches: HashMap::new(),
            buffered: 0,
        };
        let worker = std::thread::Builder::new()
            .name("panoptic-writer".into())
            .spawn(move || writer.run())?;
        Ok(Pipeline {
            sender,
            counters,
            reporter,
            worker: std::sync::Mutex::new(Some(worker)),
        })
    }

    /// Queues an event; never blocks. A full queue drops and counts.
    pub fn send(&self, message: Message) {
        Counters::add(&self.counters.emitted, 1);
        match self.sender.try_send(message) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                Counters::add(&self.counters.dropped, 1);
                self.note_error("event queue is full: event dropped (raise queue_capacity)");
            }
            Err(TrySendError::Disconnected(_)) => {
                Counters::add(&self.counters.dropped, 1);
                self.note_error("panoptic was shut down: event dropped");
            }
        }
    }

    fn note_error(&self, message: &str) {
        let message = self.reporter.report(message);
        if let Ok(mut last) = self.counters.last_error.lock() {
            *last = Some(message);
        }
    }

    /// Waits until everything queued before this call is written (or has
    /// failed), at most `deadline`. Returns false on time-out.
    pub fn flush(&self, deadline: Duration) -> bool {
        self.request(Message::Flush, deadline)
    }

    /// Flushes and stops the writer thread.
    pub fn shutdown(&self, deadline: Duration) -> bool {
        let done = self.request(Message::Shutdown, deadline);
        if done
            && let Ok(mut worker) = self.worker.lock()
            && let Some(worker) = worker.take()
        {
            let _ = worker.join();
        }
        done
    }

    fn request(&self, make: fn(Sender<()>) -> Message, deadline: Duration) -> bool {
        let (ack, done) = crossbeam_channel::bounded(1);
        let started = Instant::now();
        // The control message must not be dropped like an event: wait for room.
        if self.sender.send_timeout(make(ack), deadline).is_err() {
            return false;
        }
        done.recv_timeout(deadline.saturating_sub(started.elapsed()))
            .is_ok()
    }
}

thread_local! {
    /// A finished call handed from `Panoptic::emit_call` to the drain on the
    /// same thread, keyed by the address of the record being logged, so the
    /// drain gets the event without serializing it.
    static HANDOFF: RefCell<Option<(usize, CallEvent)>> = const { RefCell::new(None) };
}

pub(crate) fn record_address(record: &Record) -> usize {
    std::ptr::from_ref(record) as usize
}

/// Offers `event` to the MongoDB drain while `record` is logged by `log`.
pub(crate) fn log_with_handoff(record: &Record, event: CallEvent, log: impl FnOnce()) {
    HANDOFF.with(|h| *h.borrow_mut() = Some((record_address(record), event)));
    log();
    HANDOFF.with(|h| h.borrow_mut().take());
}

fn take_handoff(record: &Record) -> Option<CallEvent> {
    let address = record_address(record);
    HANDOFF.with(|h| {
        let mut slot = h.borrow_mut();
        match &*slot {
            Some((a, _)) if *a == address => slot.take().map(|(_, event)| event),
            _ => None,
        }
    })
}

/// The slog drain that sends billing records to MongoDB. Records whose tag
/// is not a billing kind (`invoice`, `charge`, …) are left to other drains.
pub struct MongoDrain {
    pipeline: Arc<Pipeline>,
}

impl MongoDrain {
    pub(crate) fn new(pipeline: Arc<Pipeline>) -> Self {
        Self { pipeline }
    }
}

impl Drain for MongoDrain {
    type Ok = ();
    type Err = Never;

    fn log(&self, record: &Record, values: &OwnedKVList) -> Result<(), Never> {
        let Some(kind) = Kind::parse(record.tag()) else {
            return Ok(());
        };
        let message = match take_handoff(record) {
            Some(mut call) => {
                if call.context.is_none() {
                    call.context = Some(Arc::new(Context::from_record(record, values)));
                }
                Message::Call(Box::new(call))
            }
            None => Message::Record(Box::new(crate::record::event_from_record(
                kind, record, values,
            ))),
        };
        self.pipeline.send(message);
        Ok(())
    }
}

/// Where a document goes.
type Route = (String, String);

struct Writer {
    settings: PipelineSettings,
    receiver: Receiver<Message>,
    counters: Arc<Counters>,
    reporter: Arc<ErrorReporter>,
    client: Option<Client>,
    indexed: HashSet<Route>,
    batches: HashMap<Route, Vec<Document>>,
    buffered: usize,
}

impl Writer {
    fn run(mut self) {
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
        let mut next_flush = Instant::now() + self.settings.flush_interval;
        loop {
            let wait = next_flush.saturating_duration_since(Instant::now());
            match self.receiver.recv_timeout(wait) {
                Ok(Message::Call(call)) => self.push_call(&call),
                Ok(Message::Record(event)) => self.push_event(&event),
                Ok(Message::Flush(ack)) => {
                    if self.flush_and_answer(ack, false).await {
                        return;
                    }
                }
                Ok(Message::Shutdown(ack)) => {
                    self.flush_and_answer(ack, true).await;
                    return;
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    self.flush().await;
                    return;
                }
            }
            if self.buffered >= self.settings.batch_size || Instant::now() >= next_flush {
                self.flush().await;
                next_flush = Instant::now() + self.settings.flush_interval;
            }
        }
    }

    /// Takes in every event already queued, writes everything, then answers
    /// `ack` and any other flush or shutdown request found in the queue.
    /// Returns whether the writer must stop.
    async fn flush_and_answer(&mut self, ack: Sender<()>, mut stop: bool) -> bool {
        let mut acks = vec![ack];
        while let Ok(message) = self.receiver.try_recv() {
            match message {
                Message::Call(call) => self.push_call(&call),
                Message::Record(event) => self.push_event(&event),
                Message::Flush(ack) => acks.push(ack),
                Message::Shutdown(ack) => {
                    acks.push(ack);
                    stop = true;
                }
            }
        }
        self.flush().await;
        for ack in acks {
            let _ = ack.send(());
        }
        stop
    }

    fn push_call(&mut self, call: &CallEvent) {
        let (route, document) = call_document(call);
        self.push(route, document);
    }

    fn push_event(&mut self, event: &BillingEvent) {
        let route = (
            database_name(&event.env),
            collection_name(&event.provider, &event.username),
        );
        self.push(route, event.to_document());
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
                self.write(&route, chunk).await;
            }
        }
    }

    async fn write(&mut self, route: &Route, documents: &[Document]) {
        let count = documents.len() as u64;
        let client = match self.client().await {
            Ok(client) => client,
            Err(error) => {
                Counters::add(&self.counters.failed, count);
                self.report(&format!("cannot reach MongoDB: {error}"));
                return;
            }
        };
        let (database, collection) = route;
        let collection = client.database(database).collection::<Document>(collection);
        if !self.indexed.contains(route) {
            match collection.create_indexes(index_models()).await {
                Ok(_) => {
                    self.indexed.insert(route.clone());
                }
                Err(error) => {
                    Counters::add(&self.counters.failed, count);
                    self.report(&format!(
                        "cannot create indexes on {database}.{}: {error}",
                        route.1
                    ));
                    return;
                }
            }
        }
        match collection.insert_many(documents).ordered(false).await {
            Ok(_) => Counters::add(&self.counters.written, count),
            Err(error) => self.count_partial_write(&error, count, database, &route.1),
        }
    }

    /// An unordered insert_many that failed may still have written most of
    /// the batch: count each document once, duplicates as delivered.
    fn count_partial_write(
        &self,
        error: &mongodb::error::Error,
        count: u64,
        database: &str,
        collection: &str,
    ) {
        if let ErrorKind::InsertMany(failure) = error.kind.as_ref() {
            let write_errors = failure.write_errors.as_deref().unwrap_or_default();
            let duplicates = write_errors.iter().filter(|e| e.code == 11000).count() as u64;
            let rejected = write_errors.len() as u64 - duplicates;
            // Unordered: every document without a write error was written.
            if failure.write_concern_error.is_none() && duplicates + rejected <= count {
                let written = count - duplicates - rejected;
                Counters::add(&self.counters.written, written);
                Counters::add(&self.counters.duplicates, duplicates);
                Counters::add(&self.counters.failed, rejected);
                if let Some(first) = write_errors.iter().find(|e| e.code != 11000) {
                    self.report(&format!(
                        "MongoDB refused {rejected} event(s) in {database}.{collection}: {}",
                        first.message
                    ));
                }
                return;
            }
        }
        if let ErrorKind::Write(WriteFailure::WriteError(e)) = error.kind.as_ref()
            && e.code == 11000
        {
            Counters::add(&self.counters.duplicates, count);
            return;
        }
        Counters::add(&self.counters.failed, count);
        self.report(&format!(
            "writing to {database}.{collection} failed: {error}"
        ));
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

    fn report(&self, message: &str) {
        let message = self.reporter.report(message);
        if let Ok(mut last) = self.counters.last_error.lock() {
            *last = Some(message);
        }
    }
}

fn index_models() -> Vec<IndexModel> {
    [
        doc! { "ts": -1 },
        doc! { "service": 1 },
        doc! { "env": 1 },
        doc! { "ts": -1, "service": 1 },
    ]
    .into_iter()
    .map(|keys| IndexModel::builder().keys(keys).build())
    .collect()
}

/// The document of a finished call: static facts from the site, who and
/// where from the logger context, numbers from the call.
fn call_document(call: &CallEvent) -> (Route, Document) {
    let site = call.site;
    let names = site.names();
    let context = call.context.as_deref().cloned().unwrap_or_default();
    let extras = call.extras.as_deref();
    let env = canonical_env(&context.env);
    let event = BillingEvent {
        id: ObjectId::new(),
        ts: call.ts,
        project_id: context.project_id,
        env,
        username: context.username,
        category: site.category(),
        provider: site.provider.as_str().to_owned(),
        service: site.service.to_owned(),
        resource: names.resource.clone(),
        kind: site.kind,
        outcome: call.outcome,
        quantity: extras.and_then(|e| e.quantity).unwrap_or(1.0),
        unit: site.unit.to_owned(),
        amount: extras.and_then(|e| e.amount).unwrap_or_default(),
        currency: site.currency.to_owned(),
        metadata: Metadata {
            function_name: Some(names.function_name.clone()),
            qualified_name: Some(names.qualified_name.clone()),
            module_path: Some(site.location.module.to_owned()),
            duration_ms: Some(call.duration.as_secs_f64() * 1000.0),
            args_types: site.args_types.iter().map(|t| (*t).to_owned()).collect(),
            user: extras.and_then(|e| e.user.clone()),
            request_id: extras.and_then(|e| e.request_id.clone()),
            tags: site.tags.iter().map(|t| (*t).to_owned()).collect(),
            error: call.error.as_deref().map(str::to_owned),
            extra: Document::new(),
        },
    };
    let route = (
        database_name(&event.env),
        collection_name(&event.provider, &event.username),
    );
    (route, event.to_document())
}
