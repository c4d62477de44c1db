//! The writer's intake: events taken from the queue, encoded and grouped
//! into batches per collection. Kept apart from delivery so that the next
//! batch is built while the previous `insert_many` is in flight.

use std::sync::Arc;
use std::time::Duration;

use bson::RawDocumentBuf;

use crate::deliver::document::Route;
use crate::deliver::queue::{Event, EventQueue};
use crate::deliver::spill::Spiller;
use crate::stats::Counters;

/// Events taken in and not yet handed to delivery.
pub(crate) struct Intake {
    /// One batch per collection, in the order the collections came.
    pub batches: Vec<(Route, Vec<RawDocumentBuf>)>,
    /// The batch the last event went to: most events follow one of the
    /// same route, and finding its batch by hashing both names cost ~490
    /// instructions per event (callgrind), a sixth of encoding it.
    last: usize,
    /// How many documents `batches` holds.
    pub buffered: usize,
    spiller: Arc<Spiller>,
    /// Whether the writer spools a backed-up queue itself (`Overflow::Spill`).
    spills: bool,
}

/// Events taken between two looks at the insert in flight.
const TAKEN_PER_TURN: usize = 32;
/// How long filling waits for the queue when it is empty.
const IDLE_WAIT: Duration = Duration::from_micros(500);

impl Intake {
    pub fn new(spiller: Arc<Spiller>, spills: bool) -> Intake {
        Intake {
            batches: Vec::new(),
            last: 0,
            buffered: 0,
            spiller,
            spills,
        }
    }

    pub fn take(&mut self, event: Event) {
        Counters::add(&self.spiller.counters.emitted, 1);
        if let Some((route, document)) = self.spiller.encode(event, None) {
            self.push(route, document);
        }
    }

    pub fn push(&mut self, route: Route, document: RawDocumentBuf) {
        self.batch_for(route).push(document);
        self.buffered += 1;
    }

    /// The batch of `route`'s collection, begun if there is none. A batch
    /// holds a bounded number of events, so a linear search stays short
    /// even when every event goes somewhere else.
    pub fn batch_for(&mut self, route: Route) -> &mut Vec<RawDocumentBuf> {
        // Routes share their names' `Arc`s, whose equality checks the
        // pointer before the text.
        let found = match self.batches.get(self.last) {
            Some((held, _)) if *held == route => Some(self.last),
            _ => self.batches.iter().position(|(held, _)| *held == route),
        };
        self.last = found.unwrap_or_else(|| {
            self.batches.push((route, Vec::new()));
            self.batches.len() - 1
        });
        &mut self.batches[self.last].1
    }

    /// Takes queued events in until `limit` are held, giving the runtime a
    /// turn every few events (so an insert in flight is answered without
    /// delay) and waiting briefly when the queue is empty. With `limit`
    /// held, after a caller found the queue full, spools the oldest queued
    /// events in batches until the queue is back at half, so that callers
    /// keep finding room (a burst the queue holds is not spooled). Never
    /// returns: raced against the insert, it stops when that ends.
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
            } else if self.spills && queue.is_backed_up() {
                self.spiller
                    .spill_queued("MongoDB takes events slower than they come");
                tokio::task::yield_now().await;
            } else {
                tokio::time::sleep(IDLE_WAIT).await;
            }
        }
    }
}
