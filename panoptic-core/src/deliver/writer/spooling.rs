//! What the writer puts in the spool: batches MongoDB cannot take now,
//! and dead letters for what it never will.

use std::sync::{Arc, MutexGuard};

use bson::RawDocumentBuf;

use panoptic_spool::bson_bytes::WriteBson;

use crate::deliver::dead_letter::keep_dead_letter;
use crate::deliver::document::Route;
use crate::stats::Counters;
use panoptic_spool::SpoolWriter;

use super::Writer;

impl Writer {
    /// Appends a batch to the spool, all or nothing. An event the spool can
    /// never hold (too large) is taken out of `documents` into a dead
    /// letter first. Fails, writing nothing, when there is no room (the
    /// cap, a full disk) or the disk refuses.
    pub(super) fn try_append(
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
    pub(super) fn append_or_drop(
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
    pub(super) fn dead_letter(&mut self, route: &Route, document: &impl WriteBson, reason: &str) {
        let message = keep_dead_letter(
            &self.settings.spool_dir,
            &self.counters,
            (&route.database, &route.collection),
            document,
            reason,
        );
        self.report(&message);
    }

    pub(super) fn lock_spool(&self) -> MutexGuard<'_, SpoolWriter> {
        self.spool
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
