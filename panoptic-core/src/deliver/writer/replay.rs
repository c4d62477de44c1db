//! Offline and back: pings with growing intervals while MongoDB does not
//! answer, then spooled segments replayed oldest first, one per tick.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use bson::RawDocumentBuf;

use crate::deliver::document::Route;
use crate::stats::Counters;
use panoptic_spool::{SegmentItem, SegmentReader, claim_oldest, remove_segment, set_aside};

use super::{Delivery, MAX_RETRY_INTERVAL, Writer, later};

impl Writer {
    pub(super) fn go_offline(&mut self, reason: &str) {
        if self.online {
            // The same line as every command's, then what happens meanwhile.
            self.report(&format!(
                "{}; events go to the spool at {} until it answers",
                crate::connect::line(&self.settings.mongo.hosts(), reason),
                self.settings.spool_dir.display()
            ));
        }
        self.online = false;
        self.mongo.disconnect();
        self.schedule_ping();
    }

    /// The next ping, each one further away (exponential back-off); only a
    /// delivered batch resets the interval.
    pub(super) fn schedule_ping(&mut self) {
        self.next_ping = later(self.retry_interval);
        self.retry_interval = self
            .retry_interval
            .saturating_mul(2)
            .min(MAX_RETRY_INTERVAL);
    }

    /// Between flushes: ping while offline, replay one segment while online.
    pub(super) async fn maintain(&mut self) {
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
    pub(super) async fn replay_one(&mut self) -> bool {
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
        if let Err(error) = remove_segment(&path) {
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
    pub(super) async fn replay_batch(
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

    pub(super) fn set_aside(&mut self, path: &std::path::Path, reason: &str) -> bool {
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
}
