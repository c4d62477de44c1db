//! The reservation side of the broker: a thread of its own, with its own
//! runtime and MongoDB client, where each reservation is a task of its
//! own. Spend from the writer, syncs and alerts run on the other side
//! (the spend loop), so a reservation never waits behind them, however
//! slow a stalled server makes them; nor behind another reservation. The
//! settlements of calls that knew their amount run here, one after the
//! other, and a reservation first waits (within its deadline) for those
//! asked before it, so that it sees what they freed.
//!
//! Each reservation has a deadline, set by its caller: the operation
//! timeout after it asked. When the deadline passes first, the caller is
//! told so and applies the budget's policy itself (see
//! [`Broker`](crate::Broker)); the task keeps waiting for the server,
//! since a write already sent may still be applied when it comes back,
//! and gives back whatever that late answer holds.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use panoptic_core::budget_hook::{BudgetExceeded, Reservation, Reserved};
use panoptic_core::connect::MongoSettings;
use panoptic_core::prices::rates::Rates;
use panoptic_core::report::write_line;

use crate::counting::{Counting, in_budget_currency, no_rate};
use crate::define::{Budget, FailurePolicy, Mode};
use crate::journal::{Entry, Stream};
use crate::known::Known;
use crate::pending::{Answer, Answering, Pending};
use crate::period::PeriodKey;
use crate::period::local_day;
use crate::serve::Request;
use crate::settings::Clock;
use crate::store::{BudgetStore, Mark};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

pub(crate) enum Ask {
    Reserve {
        reservation: Reservation,
        call_id: String,
        /// When the caller stops waiting.
        deadline: Instant,
        /// Settlements asked before it: done first, within the deadline.
        settles_before: u64,
        pending: Answering,
    },
    /// A reservation whose caller dropped its future before taking the
    /// answer: given back.
    Release(Reserved),
    /// A call that knew its amount as it ended: settled here, in order,
    /// so that the money it held is free for the next reservation (which
    /// waits, within its deadline, for the settlements asked before it).
    Settle {
        entry: Box<Entry>,
        mark: Option<Mark>,
    },
}

/// What the reservation thread and its callers share.
pub(crate) struct Reserver {
    mongo: MongoSettings,
    /// This side's own client: a reservation never queues behind the
    /// spend loop's operations for a connection.
    store: Mutex<Option<BudgetStore>>,
    pub(crate) known: Arc<Known>,
    pub(crate) clock: Clock,
    rates: Rates,
    pub(crate) timeout: Duration,
    warned_unknown: Mutex<Vec<String>>,
    /// Reservations asked and not yet answered or released (late ones
    /// included): what a flush waits for.
    in_flight: Mutex<usize>,
    idle: Condvar,
    /// Settlements asked, and settlements done (in the order asked).
    settles_asked: AtomicU64,
    settled: watch::Sender<u64>,
    /// The settlements, written down by their callers; counted here.
    settles: Arc<Stream>,
}

impl Reserver {
    pub(crate) fn new(
        mongo: MongoSettings,
        known: Arc<Known>,
        clock: Clock,
        rates: Rates,
        settles: Arc<Stream>,
    ) -> Reserver {
        let timeout = mongo.operation_limit();
        Reserver {
            mongo,
            store: Mutex::new(None),
            known,
            clock,
            rates,
            timeout,
            warned_unknown: Mutex::new(Vec::new()),
            in_flight: Mutex::new(0),
            idle: Condvar::new(),
            settles_asked: AtomicU64::new(0),
            settled: watch::Sender::new(0),
            settles,
        }
    }

    /// Counts a settlement asked; returns how many were asked so far.
    pub(crate) fn settle_asked(&self) -> u64 {
        self.settles_asked.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// How many settlements were asked so far: a reservation asked now
    /// waits for them.
    pub(crate) fn settles_asked(&self) -> u64 {
        self.settles_asked.load(Ordering::SeqCst)
    }

    /// Counts an ask in flight (before it is sent, so a flush sees it).
    pub(crate) fn begin(&self) {
        *self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner) += 1;
    }

    /// Counts an ask finished (or never sent).
    pub(crate) fn end(&self) {
        let mut in_flight = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *in_flight = in_flight.saturating_sub(1);
        if *in_flight == 0 {
            self.idle.notify_all();
        }
    }

    /// Waits until no reservation is in flight (late ones answered and
    /// released), or `deadline`. True when none is.
    pub(crate) fn wait_idle(&self, deadline: Instant) -> bool {
        let mut in_flight = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        while *in_flight > 0 {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            in_flight = self
                .idle
                .wait_timeout(in_flight, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        true
    }

    async fn store(&self) -> Option<BudgetStore> {
        if let Some(store) = self
            .store
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
        {
            return Some(store);
        }
        let client = tokio::time::timeout(self.timeout, self.mongo.client())
            .await
            .ok()?
            .ok()?;
        let store = BudgetStore::new(&client);
        *self.store.lock().unwrap_or_else(PoisonError::into_inner) = Some(store.clone());
        Some(store)
    }

    /// Drops the client after a failure, so the next try connects anew.
    fn forget_store(&self) {
        *self.store.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// What a caller gets when its reservation is not answered in time
    /// (or the broker is gone): the budget's policy, never a plain `Ok`.
    /// A budget this handle does not know yet follows the default policy,
    /// `fail_open`.
    pub(crate) fn unanswered(
        &self,
        reservation: &Reservation,
        call_id: &str,
        why: String,
    ) -> Answer {
        let open = Reserved {
            budget: reservation.budget.clone(),
            call_id: call_id.to_owned(),
            estimate: reservation.estimate,
            currency: reservation.currency.clone(),
            held: false,
            settled: false,
            unanswered: true,
        };
        match self.known.get(&reservation.budget) {
            Some(budget) if budget.on_unavailable == FailurePolicy::FailClosed => {
                Err(BudgetExceeded {
                    period: period_name(&budget, (self.clock)()),
                    budget: budget.name,
                    limit: budget.limit,
                    committed: Decimal::ZERO,
                    estimate: reservation.estimate,
                    unavailable: Some(why.into()),
                    unanswered: true,
                })
            }
            _ => Ok(open),
        }
    }

    /// Holds the call's estimate, converted into the budget's currency, or
    /// says why not.
    async fn answer(&self, reservation: &Reservation, call_id: &str) -> Answer {
        if (!self.known.synced() || self.known.get(&reservation.budget).is_none())
            && let Some(store) = self.store().await
            && !self.known.sync(&store, self.timeout).await
        {
            self.forget_store();
        }
        let open = Reserved {
            budget: reservation.budget.clone(),
            call_id: call_id.to_owned(),
            estimate: reservation.estimate,
            currency: reservation.currency.clone(),
            held: false,
            settled: false,
            unanswered: false,
        };
        let Some(budget) = self.known.get(&reservation.budget) else {
            let mut warned = self
                .warned_unknown
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if !warned.contains(&reservation.budget) {
                warned.push(reservation.budget.clone());
                write_line(&format!(
                    "panoptic: warning: no budget named `{}` (define it in code, in PANOPTIC_BUDGETS \
                     or with `panoptic budgets set`); its calls run unchecked",
                    reservation.budget
                ));
            }
            return Ok(open);
        };
        let now = (self.clock)();
        let day = local_day(&budget, now);
        let unavailable = |why: String, unanswered: bool| match budget.on_unavailable {
            FailurePolicy::FailOpen => Ok(Reserved {
                unanswered,
                ..open.clone()
            }),
            FailurePolicy::FailClosed => Err(BudgetExceeded {
                budget: budget.name.clone(),
                period: period_name(&budget, now),
                limit: budget.limit,
                committed: Decimal::ZERO,
                estimate: reservation.estimate,
                unavailable: Some(why.into()),
                unanswered,
            }),
        };
        // An estimate the budget cannot convert cannot be checked: the
        // budget's policy decides, as when MongoDB does not answer. Failing
        // open, the call holds nothing, so its spend still reaches this
        // budget and shows as not counted.
        let estimate = match in_budget_currency(
            &budget,
            &self.rates,
            reservation.estimate,
            &reservation.currency,
            day,
        ) {
            Some((estimate, _)) => estimate,
            None if budget.on_unavailable == FailurePolicy::FailClosed => {
                return unavailable(no_rate(&budget, &reservation.currency, day), false);
            }
            None => Decimal::ZERO,
        };
        let Some(store) = self.store().await else {
            return unavailable("MongoDB does not answer".to_owned(), true);
        };
        // Not cut at the caller's deadline: a write already sent may be
        // applied when a stalled server resumes, and only its answer says
        // what to give back. Bounded by the reservation's TTL, after which
        // whatever it holds expires anyway.
        let limit = Duration::from_secs(budget.reservation_ttl_secs).max(self.timeout);
        let attempt = tokio::time::timeout(
            limit,
            store.reserve_for(&budget, call_id, estimate, &reservation.currency, now),
        )
        .await;
        match attempt {
            Ok(Ok(Ok(_))) => Ok(Reserved { held: true, ..open }),
            Ok(Ok(Err(refused))) if budget.mode == Mode::Enforce => Err(refused),
            // Observe and warn never refuse: the call runs, unreserved.
            Ok(Ok(Err(_))) => Ok(open),
            Ok(Err(e)) => {
                self.forget_store();
                unavailable(e, true)
            }
            Err(_) => {
                self.forget_store();
                unavailable(format!("no answer within {limit:?}"), true)
            }
        }
    }

    /// Answers one reservation: in time, or else its caller is told the
    /// deadline passed, and a late answer that holds money is released.
    async fn reserve(
        self: Arc<Self>,
        reservation: Reservation,
        call_id: String,
        deadline: Instant,
        settles_before: u64,
        pending: Answering,
    ) {
        // The settlements asked before this reservation first (they free
        // what their calls held beyond their amount), but never past the
        // deadline.
        let mut settled = self.settled.subscribe();
        let _ = tokio::time::timeout_at(
            deadline.into(),
            settled.wait_for(|done| *done >= settles_before),
        )
        .await;
        let work = self.answer(&reservation, &call_id);
        tokio::pin!(work);
        let answer = tokio::select! {
            biased;
            answer = &mut work => answer,
            () = tokio::time::sleep_until(deadline.into()) => {
                pending.0.expire();
                work.await
            }
        };
        if let Some(Ok(late)) = pending.0.answer(answer)
            && late.held
        {
            self.release(late).await;
        }
    }

    /// Settles the calls that knew their amount as they ended, one after
    /// the other in the order asked; alerts and what MongoDB could not
    /// take go to the spend loop.
    async fn settle_all(
        self: Arc<Self>,
        mut settles: mpsc::UnboundedReceiver<(Entry, Option<Mark>)>,
        spends: mpsc::UnboundedSender<Request>,
    ) {
        while let Some((entry, mark)) = settles.recv().await {
            let request = self.settle(entry, mark).await;
            if let Some(request) = request {
                let _ = spends.send(request);
            }
            self.settled.send_modify(|done| *done += 1);
            self.end();
        }
    }

    /// Counts one settlement live, in the order written down; after a
    /// failure the stream stops, and what it wrote down is counted by the
    /// spend loop, once.
    async fn settle(&self, entry: Entry, mark: Option<Mark>) -> Option<Request> {
        if !self.settles.counts_live(mark.as_ref()) {
            return None;
        }
        let reserved = entry.spend.reserved.as_ref()?;
        let amount = entry.spend.amount?;
        let Some(budget) = self.known.get(&reserved.budget) else {
            if let Some(mark) = &mark {
                self.settles.counted(mark);
            }
            return None;
        };
        // The amount is the call's own, in its site's currency: the
        // reservation's.
        let counting = Counting::amount(
            &budget,
            &self.rates,
            amount,
            &reserved.currency,
            local_day(&budget, entry.at),
        );
        crate::faults::point("settle:before-count");
        if let Some(store) = self.store().await {
            let done = tokio::time::timeout(
                self.timeout,
                store.count_marked(
                    &budget,
                    Some(&reserved.call_id),
                    &counting,
                    entry.at,
                    mark.as_ref(),
                ),
            )
            .await;
            if let Ok(Ok(period)) = done {
                crate::faults::point("settle:counted");
                if let Some(mark) = &mark {
                    self.settles.counted(mark);
                }
                return Some(Request::Alerts {
                    budget: Box::new(budget),
                    period,
                    at: entry.at,
                });
            }
            self.forget_store();
        }
        // Kept on disk (the reservation meanwhile expires, or is taken by
        // the settlement when it is counted).
        self.settles.failed();
        None
    }

    /// Gives back a reservation nobody runs under, retrying while the
    /// server does not answer; what cannot be released in a few tries
    /// expires with its TTL.
    async fn release(&self, reserved: Reserved) {
        let Some(budget) = self.known.get(&reserved.budget) else {
            return;
        };
        for _ in 0..5 {
            if let Some(store) = self.store().await {
                let limit = self.timeout.max(Duration::from_secs(60));
                match tokio::time::timeout(limit, store.release(&budget, &reserved.call_id)).await {
                    Ok(Ok(_)) => return,
                    _ => self.forget_store(),
                }
            }
            tokio::time::sleep(self.timeout).await;
        }
    }
}

/// The reservation thread's loop: one task per ask, until the handle is
/// dropped; then what is in flight gets one operation timeout to finish.
pub(crate) async fn serve_reservations(
    reserver: Arc<Reserver>,
    mut asks: mpsc::UnboundedReceiver<Ask>,
    spends: mpsc::UnboundedSender<Request>,
) {
    let mut tasks = JoinSet::new();
    let (settle, settles) = mpsc::unbounded_channel();
    tasks.spawn(Arc::clone(&reserver).settle_all(settles, spends));
    while let Some(ask) = asks.recv().await {
        while tasks.try_join_next().is_some() {}
        let reserver = Arc::clone(&reserver);
        match ask {
            Ask::Reserve {
                reservation,
                call_id,
                deadline,
                settles_before,
                pending,
            } => {
                tasks.spawn(async move {
                    let done = Done(&reserver);
                    Arc::clone(done.0)
                        .reserve(reservation, call_id, deadline, settles_before, pending)
                        .await;
                });
            }
            Ask::Settle { entry, mark } => {
                if settle.send((*entry, mark)).is_err() {
                    reserver.end();
                }
            }
            Ask::Release(reserved) => {
                tasks.spawn(async move {
                    let done = Done(&reserver);
                    done.0.release(reserved).await;
                });
            }
        }
    }
    drop(settle);
    let _ = tokio::time::timeout(reserver.timeout, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
}

/// Marks an ask finished however its task ends.
struct Done<'a>(&'a Arc<Reserver>);

impl Drop for Done<'_> {
    fn drop(&mut self) {
        self.0.end();
    }
}

/// The name of the period that holds `now` in `budget`'s zone.
fn period_name(budget: &Budget, now: DateTime<Utc>) -> String {
    budget
        .zone()
        .map(|zone| PeriodKey::of(budget.period, zone, now).name)
        .unwrap_or_default()
}

/// An async caller's wait: any executor (it needs no timer; the
/// reservation thread's timer expires it at the deadline). Dropped
/// before it took an answer that holds money, it sends it back to be
/// released.
pub(crate) struct AnswerFuture {
    pub(crate) pending: Arc<Pending>,
    pub(crate) asks: mpsc::UnboundedSender<Ask>,
    pub(crate) reserver: Arc<Reserver>,
}

impl Future for AnswerFuture {
    type Output = Option<Answer>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Answer>> {
        self.pending.poll_answer(cx)
    }
}

impl Drop for AnswerFuture {
    fn drop(&mut self) {
        if let Some(Ok(reserved)) = self.pending.abandon()
            && reserved.held
        {
            self.reserver.begin();
            if self.asks.send(Ask::Release(reserved)).is_err() {
                self.reserver.end();
            }
        }
    }
}
