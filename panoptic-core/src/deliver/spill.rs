//! Events the writer cannot take in time, put in the spool in batches:
//! by a caller that finds the queue full, and then by the writer itself
//! while MongoDB works on a batch, until the queue is back at half (so
//! that callers seldom find it full again). Either way one lock and one write per collection
//! cover a batch of events, and the writer replays them later.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use bson::RawDocumentBuf;

use crate::budget_hook::{BudgetHook, Spend};
use crate::deliver::dead_letter::keep_dead_letter;
use crate::deliver::document::{Owner, Route, call_document, record_document};
use crate::deliver::queue::{Event, EventQueue};
use crate::report::ErrorReporter;
use crate::stats::Counters;
use panoptic_spool::SpoolWriter;

/// Most events a caller spools at once: enough to spread the lock and the
/// write over many events, few enough to keep one caller's pause short.
pub(crate) const SPILL_BATCH: usize = 256;

/// Most events the writer takes out of a backed-up queue at once: they
/// are in no queue and on no disk until written, which adds to what a
/// crash can lose (the README's crash window counts them).
pub(crate) const WRITER_SPILL_BATCH: usize = 128;

/// Everything a spill needs, shared by the callers' pipeline and the writer.
pub(crate) struct Spiller {
    pub queue: Arc<EventQueue>,
    pub spool: Arc<Mutex<SpoolWriter>>,
    pub owner: Arc<Owner>,
    pub broker: Option<Arc<dyn BudgetHook>>,
    /// Told of each event encoded (an OpenTelemetry export); usually none.
    pub exporters: Box<[Arc<dyn crate::export_hook::ExportHook>]>,
    pub counters: Arc<Counters>,
    pub reporter: Arc<ErrorReporter>,
    pub spool_dir: PathBuf,
}

impl Spiller {
    /// Spools `event`, which the queue refused, with up to
    /// [`SPILL_BATCH`] − 1 queued events beside it (room for the calls
    /// that follow). Held locked while taking, encoding and writing, so
    /// that a flush the writer answers meanwhile finds these events on
    /// disk, not in this thread's hands.
    pub fn spill_refused(&self, event: Event, why: &str) {
        let mut spool = self.lock();
        // Another caller may have made room while this one waited.
        let event = match self.queue.push(event) {
            Ok(()) => return,
            Err(event) => event,
        };
        let mut events = Vec::with_capacity(SPILL_BATCH);
        events.push(event);
        self.take_queued(&mut events, SPILL_BATCH);
        self.write(&mut spool, events, why);
    }

    /// Spools up to [`WRITER_SPILL_BATCH`] of the oldest queued events;
    /// returns how many it took.
    pub fn spill_queued(&self, why: &str) -> usize {
        let mut spool = self.lock();
        let mut events = Vec::with_capacity(WRITER_SPILL_BATCH);
        self.take_queued(&mut events, WRITER_SPILL_BATCH);
        let taken = events.len();
        self.write(&mut spool, events, why);
        taken
    }

    fn take_queued(&self, events: &mut Vec<Event>, most: usize) {
        while events.len() < most
            && let Some(queued) = self.queue.pop()
        {
            events.push(queued);
        }
    }

    fn write(&self, spool: &mut SpoolWriter, events: Vec<Event>, why: &str) {
        if events.is_empty() {
            return;
        }
        Counters::add(&self.counters.emitted, events.len() as u64);
        let mut routes: Vec<(Route, Vec<RawDocumentBuf>)> = Vec::new();
        for event in events {
            let Some((route, document)) = self.encode(event, Some(why)) else {
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

    /// An event's route and document, its spend told to the budgets;
    /// `None` when it cannot be encoded (kept as a dead letter, counted
    /// failed, reported after `spilled_because` when it is being spilled).
    pub fn encode(
        &self,
        event: Event,
        spilled_because: Option<&str>,
    ) -> Option<(Route, RawDocumentBuf)> {
        let (route, document, reserved) = match event {
            Event::Call(call) => {
                let (route, document, warning) = call_document(&call, &self.owner);
                if let Some(warning) = warning {
                    crate::report::write_line(&format!("panoptic: warning: {warning}"));
                }
                let reserved = call.extras.as_ref().and_then(|e| e.reservation.clone());
                (route, document, reserved)
            }
            Event::Record(event) => {
                match record_document(*event, &self.spool_dir, &self.counters) {
                    Ok((route, document)) => (route, document, None),
                    Err(message) => {
                        match spilled_because {
                            Some(why) => self.note_error(&format!("{why}; {message}")),
                            None => self.note_error(&message),
                        }
                        return None;
                    }
                }
            }
        };
        if let Some(broker) = &self.broker
            && Spend::is_spend(&document)
        {
            broker.spend(Spend::of(&document, reserved));
        }
        for exporter in &self.exporters {
            exporter.encoded(&document);
        }
        Some((route, document))
    }

    pub fn note_error(&self, message: &str) {
        self.counters.set_last_error(self.reporter.report(message));
    }

    fn lock(&self) -> MutexGuard<'_, SpoolWriter> {
        self.spool
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
