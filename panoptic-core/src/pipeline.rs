//! From a slog record to the writer: the drain turns a record into a
//! message on a bounded channel; the writer (`writer.rs`) does the I/O.
//! Nothing here blocks the caller (unless `Overflow::Block` says so) or
//! reports to it.

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use bson::Document;
use bson::oid::ObjectId;
use mongodb::options::ConnectionString;
use slog::{Drain, Never, OwnedKVList, Record};

use crate::call::{CallContext, CallEvent};
use crate::context::Context;
use crate::event::{BillingEvent, Kind, Metadata};
use crate::naming::{canonical_env, collection_name, database_name};
use crate::queue::{Control, Event, EventQueue};
use crate::report::ErrorReporter;
use crate::spool::SpoolWriter;
use crate::stats::Counters;
use crate::writer::Writer;
use panoptic_catalog::Provider;

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
    /// Append it to the spool on the caller's thread (a buffered file
    /// append): nothing lost, memory bounded.
    #[default]
    Spill,
    /// Wait for room: nothing lost, but the caller is slowed.
    Block,
    /// Drop it and count it in `Stats::dropped`.
    Drop,
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
    pub retry_interval: Duration,
    pub spool_dir: PathBuf,
    pub segment_bytes: u64,
    pub write_ahead: bool,
    pub fsync: bool,
    pub overflow: Overflow,
    /// The handle's own username, project and env, for calls logged through
    /// its child loggers.
    pub owner: Arc<Owner>,
}

/// The handle's own context and, per provider, where its events go: worked
/// out once instead of per event.
pub(crate) struct Owner {
    pub context: Context,
    routes: [Route; Provider::ALL.len()],
}

impl Owner {
    pub fn new(context: Context) -> Owner {
        let database = database_name(&context.env);
        let routes = Provider::ALL.map(|p| {
            (
                database.clone(),
                collection_name(p.as_str(), &context.username),
            )
        });
        Owner { context, routes }
    }
}

/// The sending half, shared by the drain and the handle.
pub(crate) struct Pipeline {
    queue: Arc<EventQueue>,
    overflow: Overflow,
    owner: Arc<Owner>,
    spool: Arc<Mutex<SpoolWriter>>,
    pub counters: Arc<Counters>,
    pub reporter: Arc<ErrorReporter>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl Pipeline {
    pub fn start(
        settings: PipelineSettings,
        reporter: Arc<ErrorReporter>,
    ) -> std::io::Result<Pipeline> {
        let queue = Arc::new(EventQueue::new(
            settings.queue_capacity,
            settings.batch_size,
        ));
        let counters = Arc::new(Counters::default());
        let spool = Arc::new(Mutex::new(SpoolWriter::new(
            settings.spool_dir.clone(),
            settings.segment_bytes,
            settings.fsync,
        )));
        let overflow = settings.overflow;
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
            worker: Mutex::new(Some(worker)),
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

    /// Writes an event the writer cannot take to the spool, on this thread.
    /// The writer notices unacknowledged events in the spool and replays them.
    fn spill(&self, event: Event, why: &str) {
        let (route, document) = match event {
            Event::Call(call) => call_document(&call, &self.owner),
            Event::Record(event) => (event_route(&event), event.into_document()),
        };
        Counters::add(&self.counters.emitted, 1);
        let result = self
            .spool
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .append(&route.0, &route.1, std::slice::from_ref(&document), false);
        match result {
            Ok(()) => Counters::add(&self.counters.spooled, 1),
            Err(error) => {
                Counters::add(&self.counters.dropped, 1);
                self.note_error(&format!("{why} and the spool refused the event: {error}"));
            }
        }
    }

    fn note_error(&self, message: &str) {
        self.counters.set_last_error(self.reporter.report(message));
    }

    /// Waits until everything queued before this call is written (or
    /// spooled), at most `deadline`. Returns false on time-out.
    pub fn flush(&self, deadline: Duration) -> bool {
        self.request(Control::Flush, deadline)
    }

    /// Flushes and stops the writer thread.
    pub fn shutdown(&self, deadline: Duration) -> bool {
        let done = self.request(Control::Shutdown, deadline);
        if done
            && let Ok(mut worker) = self.worker.lock()
            && let Some(worker) = worker.take()
        {
            let _ = worker.join();
        }
        done
    }

    fn request(
        &self,
        make: fn(std::sync::mpsc::Sender<()>) -> Control,
        deadline: Duration,
    ) -> bool {
        let (ack, done) = std::sync::mpsc::channel();
        self.queue.control(make(ack)) && done.recv_timeout(deadline).is_ok()
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
///
/// It is built by [`Panoptic`](crate::Panoptic) and sits under every child
/// logger; use the loggers, not the drain:
///
/// ```no_run
/// # let panoptic = panoptic_core::Panoptic::builder().username("ann").build().unwrap();
/// let log = panoptic.logger(panoptic_core::Provider::Aws, "S3");
/// panoptic_core::charge!(log, "egress"; "quantity" => 12, "unit" => "GB", "amount" => "1.08");
/// slog::info!(log, "not a billing record: MongoDrain ignores it");
/// ```
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
        // An annotated call hands over its event: no key-values to read.
        if let Some(mut call) = take_handoff(record) {
            if matches!(call.context, CallContext::FromLogger) {
                call.context = CallContext::Given(Arc::new(crate::record::context_from_record(
                    record, values,
                )));
            }
            self.pipeline.send(Event::Call(call));
            return Ok(());
        }
        let Some(kind) = Kind::parse(record.tag()) else {
            return Ok(());
        };
        let event = crate::record::event_from_record(kind, record, values);
        self.pipeline.send(Event::Record(Box::new(event)));
        Ok(())
    }
}

/// Where a document goes: (database, collection).
pub(crate) type Route = (String, String);

/// The route of an event built from a slog record.
pub(crate) fn event_route(event: &BillingEvent) -> Route {
    (
        database_name(&event.env),
        collection_name(&event.provider, &event.username),
    )
}

/// The document of a finished call: static facts from the site, who and
/// where from the logger context, numbers from the call.
pub(crate) fn call_document(call: &CallEvent, owner: &Owner) -> (Route, Document) {
    let site = call.site;
    let names = site.names();
    let (context, route) = match &call.context {
        CallContext::Given(context) => {
            let env = canonical_env(&context.env);
            let route = (
                database_name(&env),
                collection_name(site.provider.as_str(), &context.username),
            );
            (context.as_ref(), route)
        }
        CallContext::Handle | CallContext::FromLogger => {
            (&owner.context, owner.routes[site.provider.index()].clone())
        }
    };
    let extras = call.extras.as_deref();
    let event = BillingEvent {
        id: ObjectId::new(),
        ts: crate::call::wall_clock(call.ended),
        project_id: context.project_id.clone(),
        env: canonical_env(&context.env),
        username: context.username.clone(),
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
    (route, event.into_document())
}
