//! Delivering a batch: straight in when online (appended to the spool
//! first in write-ahead mode), batch by batch or one by one, counting
//! what MongoDB took and keeping what it refuses for good.

use std::sync::Arc;
use std::time::Instant;

use bson::RawDocumentBuf;

use crate::deliver::document::Route;
use crate::deliver::mongo::InsertOutcome;
use crate::stats::Counters;

use super::{Delivery, Writer};

impl Writer {
    /// One batch: appended to the spool first in write-ahead mode, inserted
    /// when online, spooled when that cannot be done.
    pub(super) async fn deliver(&mut self, route: &Route, documents: &mut Vec<RawDocumentBuf>) {
        #[cfg(feature = "fault-injection")]
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

    /// Inserts one batch within the operation timeout (or what is left of
    /// the shutdown deadline), counting what MongoDB took and keeping what
    /// it refuses for good in dead letters.
    pub(super) async fn insert_batch(
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

    pub(super) async fn insert_one_by_one(
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

    pub(super) async fn insert_once(
        &mut self,
        route: &Route,
        documents: &[RawDocumentBuf],
    ) -> InsertOutcome {
        let mut limit = self.mongo.operation_timeout();
        if let Some(deadline) = self.deadline {
            limit = limit.min(deadline.saturating_duration_since(Instant::now()));
        }
        // Until shutdown, a shutdown request cuts the wait short; during
        // shutdown, the deadline does.
        let queue = Arc::clone(&self.queue);
        let running = self.deadline.is_none();
        let interrupt = move || running && queue.is_closed();
        let outcome = self
            .insert_bounded(route, documents, limit, &interrupt, running)
            .await;
        for warning in self.mongo.take_warnings() {
            self.report(&warning);
        }
        outcome
    }

    async fn insert_bounded(
        &mut self,
        route: &Route,
        documents: &[RawDocumentBuf],
        limit: std::time::Duration,
        interrupt: &(dyn Fn() -> bool + Sync),
        running: bool,
    ) -> InsertOutcome {
        let insert = self.mongo.insert(route, documents, limit, interrupt);
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

    pub(super) fn count_delivered(&mut self, written: u64, duplicates: u64, replay: bool) {
        Counters::add(&self.counters.written, written);
        Counters::add(&self.counters.duplicates, duplicates);
        if replay {
            Counters::add(&self.counters.replayed, written + duplicates);
        }
        if written + duplicates > 0 {
            self.retry_interval = self.settings.retry_interval;
        }
    }
}

/// The documents at `indices` (ascending), moved out of `documents`.
pub(super) fn pick(documents: Vec<RawDocumentBuf>, indices: &[usize]) -> Vec<RawDocumentBuf> {
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
