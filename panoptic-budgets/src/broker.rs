//! The budget broker: per handle, two threads, each with its own runtime
//! and MongoDB client. One answers reservations for callers (the one
//! round trip a budgeted call pays before its body runs), each in a task
//! of its own, and settles the calls that knew their amount; the other
//! counts spend for the writer, syncs definitions and sends alerts (off
//! every caller's path). A reservation never waits
//! behind spend: a stalled server makes each spend wait up to the
//! operation timeout, and calls queued behind them would fail open.

use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use tokio::sync::mpsc;

use panoptic_core::budget_hook::{
    BudgetExceeded, BudgetHook, Reservation, ReserveFuture, Reserved, Spend,
};

use crate::journal::{Entry, Stream};
use crate::known::Known;
use crate::pending::{Answering, Pending};
use crate::reserve::AnswerFuture;
use crate::reserve::{Ask, Reserver, serve_reservations};
use crate::serve::{Request, counts_in, serve};
pub use crate::settings::{AlertCallback, BrokerSettings, Clock};
use crate::store::BudgetStatus;

/// The handle's side of the broker.
pub struct Broker {
    requests: mpsc::UnboundedSender<Request>,
    asks: mpsc::UnboundedSender<Ask>,
    reserver: Arc<Reserver>,
    timeout: Duration,
    /// The writer's spend, written down before it is counted.
    spends: Arc<Stream>,
    /// The calls' settlements, written down before they are counted.
    settles: Arc<Stream>,
}

impl Broker {
    /// Starts the broker's threads.
    pub fn start(settings: BrokerSettings) -> std::io::Result<Broker> {
        let (requests, receiver) = mpsc::unbounded_channel();
        let (asks, asked) = mpsc::unbounded_channel();
        let timeout = settings.mongo.operation_limit();
        let known = Arc::new(Known::new(
            settings.budgets.clone(),
            Some(crate::cache::path(&settings.spool_dir)),
        ));
        let spends = Arc::new(Stream::new(&settings.spool_dir));
        let settles = Arc::new(Stream::new(&settings.spool_dir));
        let reserver = Arc::new(Reserver::new(
            settings.mongo.clone(),
            Arc::clone(&known),
            Arc::clone(&settings.clock),
            settings.rates.clone(),
            Arc::clone(&settles),
        ));
        let reservations = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let spends_runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let answering = Arc::clone(&reserver);
        let to_spend_loop = requests.clone();
        let streams = [Arc::clone(&spends), Arc::clone(&settles)];
        std::thread::Builder::new()
            .name("panoptic-budget-reservations".to_owned())
            .spawn(move || {
                reservations.block_on(serve_reservations(answering, asked, to_spend_loop));
            })?;
        std::thread::Builder::new()
            .name("panoptic-budgets".to_owned())
            .spawn(move || spends_runtime.block_on(serve(settings, known, streams, receiver)))?;
        Ok(Broker {
            requests,
            asks,
            reserver,
            timeout,
            spends,
            settles,
        })
    }

    /// How long a caller waits for its reservation: the operation
    /// timeout, from when it asks. Then the budget's policy applies.
    pub fn reservation_bound(&self) -> Duration {
        self.timeout
    }

    /// Sends a reservation to the reservation thread; `None` when the
    /// thread is gone.
    fn ask(&self, reservation: &Reservation, call_id: &str) -> Option<Arc<Pending>> {
        let pending = Pending::new();
        self.reserver.begin();
        let sent = self.asks.send(Ask::Reserve {
            reservation: reservation.clone(),
            call_id: call_id.to_owned(),
            deadline: Instant::now() + self.timeout,
            settles_before: self.reserver.settles_asked(),
            pending: Answering(Arc::clone(&pending)),
        });
        if sent.is_err() {
            self.reserver.end();
            return None;
        }
        Some(pending)
    }

    fn unanswered(
        &self,
        reservation: &Reservation,
        call_id: &str,
    ) -> Result<Reserved, BudgetExceeded> {
        self.reserver.unanswered(
            reservation,
            call_id,
            format!("no answer within {:?}", self.timeout),
        )
    }

    /// Reserves for a synchronous call, waiting at most the operation
    /// timeout (by this thread's own clock); then the budget's policy
    /// applies: `fail_closed` refuses, `fail_open` runs holding nothing.
    pub fn reserve_blocking(&self, reservation: Reservation) -> Result<Reserved, BudgetExceeded> {
        let call_id = bson::oid::ObjectId::new().to_hex();
        let deadline = Instant::now() + self.timeout;
        let answer = self
            .ask(&reservation, &call_id)
            .and_then(|pending| pending.wait_until(deadline));
        answer.unwrap_or_else(|| self.unanswered(&reservation, &call_id))
    }

    /// Reserves for an async call, on any executor: the reservation
    /// thread's timer ends the wait at the operation timeout; then the
    /// budget's policy applies, as for a synchronous call. A call whose
    /// future is dropped while it waits holds nothing: an answer it did
    /// not take is released.
    pub async fn reserve(&self, reservation: Reservation) -> Result<Reserved, BudgetExceeded> {
        let call_id = bson::oid::ObjectId::new().to_hex();
        let answer = match self.ask(&reservation, &call_id) {
            Some(pending) => {
                AnswerFuture {
                    pending,
                    asks: self.asks.clone(),
                    reserver: Arc::clone(&self.reserver),
                }
                .await
            }
            None => None,
        };
        answer.unwrap_or_else(|| self.unanswered(&reservation, &call_id))
    }

    /// Settles a reservation as its call ends (never waits on MongoDB):
    /// written down beside the spool, then counted on the reservation
    /// thread.
    pub fn settle(&self, reserved: Reserved, amount: Decimal) {
        let entry = Entry::settlement(reserved, amount, (self.reserver.clock)());
        self.reserver.settle_asked();
        self.reserver.begin();
        self.settles.append_then(entry, |entry, mark| {
            let entry = Box::new(entry);
            if self.asks.send(Ask::Settle { entry, mark }).is_err() {
                self.reserver.end();
            }
        });
    }

    /// Counts spend (from the writer; never waits on MongoDB): written
    /// down beside the spool, then counted by the spend loop.
    pub fn spend(&self, spend: Spend) {
        // Spend no budget counts is not written down (once the database's
        // budgets are read: before, any might count it).
        let known = &self.reserver.known;
        if known.synced() && !known.any(|budget| counts_in(budget, &spend)) {
            return;
        }
        let entry = Entry {
            spend,
            at: (self.reserver.clock)(),
        };
        self.spends.append_then(entry, |entry, mark| {
            let _ = self.requests.send(Request::Spend(Box::new(entry), mark));
        });
    }

    /// Waits until every reservation asked so far is answered (late ones
    /// released) and every spend sent so far is settled.
    pub fn flush(&self) {
        let bound = self.timeout * 4 + Duration::from_secs(1);
        self.reserver.wait_idle(Instant::now() + bound);
        let (tx, rx) = std_mpsc::sync_channel(1);
        if self.requests.send(Request::Flush(tx)).is_ok() {
            let _ = rx.recv_timeout(bound);
        }
    }

    /// Every budget's state now; `None` when MongoDB does not answer.
    pub fn statuses(&self) -> Option<Vec<BudgetStatus>> {
        let (tx, rx) = std_mpsc::sync_channel(1);
        self.requests.send(Request::Statuses(tx)).ok()?;
        rx.recv_timeout(self.timeout * 4 + Duration::from_secs(1))
            .ok()?
    }
}

// A panic on a caller's thread leaves the reservation side consistent:
// its locks recover from poisoning and each holds one whole value.
impl std::panic::RefUnwindSafe for Broker {}

impl BudgetHook for Broker {
    fn reserve_blocking(&self, reservation: Reservation) -> Result<Reserved, BudgetExceeded> {
        Broker::reserve_blocking(self, reservation)
    }

    fn reserve(&self, reservation: Reservation) -> ReserveFuture<'_> {
        Box::pin(Broker::reserve(self, reservation))
    }

    fn settle(&self, reserved: Reserved, amount: Decimal) {
        Broker::settle(self, reserved, amount);
    }

    fn spend(&self, spend: Spend) {
        Broker::spend(self, spend);
    }

    fn flush(&self) {
        Broker::flush(self);
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}
