//! The slog path of an event: a finished call becomes a slog record that
//! every drain sees; the MongoDB drain takes the call itself through a
//! same-thread hand-off instead of reading the record's key-values, and
//! turns records of the billing kinds into events.

use std::cell::RefCell;
use std::sync::Arc;

use slog::{Drain, Logger, Never, OwnedKVList, Record, SendSyncRefUnwindSafeDrain};

use crate::call_event::{CallContext, CallEvent};
use crate::deliver::pipeline::Pipeline;
use crate::deliver::queue::Event;
use crate::event::{Kind, Outcome};
use crate::logging::record_event::{context_from_record, event_from_record};

/// A user's drain, shared by every logger of a handle.
pub(crate) type BoxedDrain = Arc<dyn SendSyncRefUnwindSafeDrain<Ok = (), Err = Never>>;

/// Logs a finished call as a slog record; the MongoDB drain takes the event
/// through the handoff instead of reading the record's key-values.
pub(crate) fn log_call(logger: &Logger, event: CallEvent) {
    let site = event.site;
    let level = match event.outcome {
        Outcome::Ok => slog::Level::Info,
        _ => slog::Level::Error,
    };
    let record_static = slog::RecordStatic {
        location: &site.location,
        level,
        tag: site.kind.as_str(),
    };
    let kv = event.clone();
    let message = format_args!("{}", site.names().resource);
    let record = Record::new(&record_static, &message, slog::BorrowedKV(&kv));
    log_with_handoff(&record, event, || logger.log(&record));
}

thread_local! {
    /// A finished call handed from `Panoptic::emit_call` to the drain on the
    /// same thread, keyed by the address of the record being logged, so the
    /// drain gets the event without serializing it.
    static HANDOFF: RefCell<Option<(usize, CallEvent)>> = const { RefCell::new(None) };
}

fn record_address(record: &Record) -> usize {
    std::ptr::from_ref(record) as usize
}

/// Offers `event` to the MongoDB drain while `record` is logged by `log`.
fn log_with_handoff(record: &Record, event: CallEvent, log: impl FnOnce()) {
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
                call.context = CallContext::Given(Arc::new(context_from_record(record, values)));
            }
            self.pipeline.send(Event::Call(call));
            return Ok(());
        }
        let Some(kind) = Kind::parse(record.tag()) else {
            return Ok(());
        };
        let event = event_from_record(kind, record, values);
        self.pipeline.send(Event::Record(Box::new(event)));
        Ok(())
    }
}

/// The base logger's drain: the user's drains, filtered by the diagnostic
/// level, then MongoDB, which no level filters. Billing records are data:
/// a level meant for diagnostics must never drop one.
pub(crate) struct Fanout {
    pub mongo: MongoDrain,
    pub others: Vec<BoxedDrain>,
    /// The lowest level the user's drains see.
    pub level: slog::Level,
}

impl Drain for Fanout {
    type Ok = ();
    type Err = Never;

    fn log(&self, record: &Record, values: &OwnedKVList) -> Result<(), Never> {
        if record.level().is_at_least(self.level) {
            for drain in &self.others {
                let _ = drain.log(record, values);
            }
        }
        self.mongo.log(record, values)
    }
}
