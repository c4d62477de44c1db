//! The writer's intake: events taken from the queue, encoded and grouped
//! into batches per collection. Kept apart from delivery so that the next
//! batch is built while the previous `insert_many` is in flight.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bson::RawDocumentBuf;

use crate::budget::{Broker, Spend};
use crate::call_event::CallEvent;
use crate::document::{Owner, Route, call_document, record_document};
use crate::event::BillingEvent;
use crate::queue::{Event, EventQueue};
use crate::report::ErrorReporter;
use crate::stats::Counters;

/// Events taken in and not yet handed to delivery.
pub(crate) struct Intake {
    pub batches: HashMap<Route, Vec<RawDocumentBuf>>,
    /// How many documents `batches` holds.
    pub buffered: usize,
    owner: Arc<Owner>,
    broker: Option<Arc<Broker>>,
    counters: Arc<Counters>,
    reporter: Arc<ErrorReporter>,
    spool_dir: PathBuf,
}

/// Events taken between two looks at the insert in flight.
const TAKEN_PER_TURN: usize = 32;
/// How long filling waits for the queue when it is empty.
const IDLE_WAIT: Duration = Duration::from_micros(500);

impl Intake {
    pub fn new(
        owner: Arc<Owner>,
        broker: Option<Arc<Broker>>,
        counters: Arc<Counters>,
        reporter: Arc<ErrorReporter>,
        spool_dir: PathBuf,
    ) -> Intake {
        Intake {
            batches: HashMap::new(),
            buffered: 0,
            owner,
            broker,
            counters,
            reporter,
            spool_dir,
        }
    }

    pub fn take(&mut self, event: Event) {
        match event {
            Event::Call(call) => self.take_call(&call),
            Event::Record(record) => self.take_event(*record),
        }
    }

    fn take_call(&mut self, call: &CallEvent) {
        Counters::add(&self.counters.emitted, 1);
        let (route, document, warning) = call_document(call, &self.owner);
        if let Some(warning) = warning {
            // A warning, not a delivery error: not kept as `last_error`.
            crate::report::write_line(&format!("panoptic: warning: {warning}"));
        }
        if let Some(broker) = &self.broker {
            let reserved = call.extras.as_ref().and_then(|e| e.reservation.clone());
            broker.spend(Spend::of(&document, reserved));
        }
        self.push(route, document);
    }

    fn take_event(&mut self, event: BillingEvent) {
        Counters::add(&self.counters.emitted, 1);
        let (route, document) = match record_document(event, &self.spool_dir, &self.counters) {
            Ok(encoded) => encoded,
            Err(message) => {
                self.counters.set_last_error(self.reporter.report(&message));
                return;
            }
        };
        if let Some(broker) = &self.broker {
            broker.spend(Spend::of(&document, None));
        }
        self.push(route, document);
    }

    pub fn push(&mut self, route: Route, document: RawDocumentBuf) {
        self.batches.entry(route).or_default().push(document);
        self.buffered += 1;
    }

    /// Takes queued events in until `limit` are held, giving the runtime a
    /// turn every few events (so an insert in flight is answered without
    /// delay) and waiting briefly when the queue is empty. Never returns:
    /// raced against the insert, it stops when that ends.
    pub async fn fill(&mut self, queue: &EventQueue, limit: usize) {
        let mut taken = 0;
        loop {
            if self.buffered < limit
                && let Some(event) = queue.pop()
            {
                self.take(event);
                taken += 1;
                if taken % TAKEN_PER_TURN == 0 {
                    tokio::task::yield_now().await;
                }
            } else {
                tokio::time::sleep(IDLE_WAIT).await;
            }
        }
    }
}
