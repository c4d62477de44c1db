//! The broker's spend loop: one task on its own thread and runtime that
//! settles calls, counts spend against the budgets whose scope holds it,
//! syncs definitions, sends alerts, and counts from disk what a counter
//! could not count live, once ([`crate::journal`]). Reservations are
//! answered elsewhere ([`crate::reserve`]), never behind this loop's work.

use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use mongodb::Client;
use rust_decimal::Decimal;
use tokio::sync::mpsc;

use panoptic_core::budget_hook::Spend;
use panoptic_core::connect::MongoSettings;
use panoptic_core::prices::rates::Rates;

use crate::counting::Counting;
use crate::define::Budget;
use crate::journal::{self, Entry, Stream};
use crate::known::Known;
use crate::period::local_day;
use crate::settings::{AlertCallback, BrokerSettings, Clock};
use crate::store::{BudgetStatus, BudgetStore, Mark};

pub(crate) enum Request {
    /// The writer's spend, written down first (its mark: `None` when the
    /// disk refused it).
    Spend(Box<Entry>, Option<Mark>),
    /// A call settled on the reservation side: its budget's alerts.
    Alerts {
        budget: Box<Budget>,
        period: bson::Document,
        at: DateTime<Utc>,
    },
    Flush(std_mpsc::SyncSender<()>),
    Statuses(std_mpsc::SyncSender<Option<Vec<BudgetStatus>>>),
}

pub(crate) struct State {
    pub(crate) mongo: MongoSettings,
    /// The client once made; dropped after a failure so the next try connects anew.
    pub(crate) client: Option<Client>,
    pub(crate) store: Option<BudgetStore>,
    /// Whether the periods' index is made.
    indexed: bool,
    /// The definitions, shared with the reservation side.
    pub(crate) known: Arc<Known>,
    pub(crate) clock: Clock,
    pub(crate) on_alert: Option<AlertCallback>,
    pub(crate) alert_logger: Arc<OnceLock<slog::Logger>>,
    /// Webhook posts in flight.
    pub(crate) deliveries: Vec<tokio::task::JoinHandle<()>>,
    /// The spool folder, beside which the batches are.
    spool_dir: std::path::PathBuf,
    /// The writer's spend, counted live here.
    spends: Arc<Stream>,
    /// The calls' settlements, counted live on the reservation thread:
    /// what it could not count is counted here.
    settles: Arc<Stream>,
    pub(crate) timeout: Duration,
    /// The rates that count spend in another currency than a budget's.
    pub(crate) rates: Rates,
}

pub(crate) async fn serve(
    settings: BrokerSettings,
    known: Arc<Known>,
    streams: [Arc<Stream>; 2],
    mut requests: mpsc::UnboundedReceiver<Request>,
) {
    let [spends, settles] = streams;
    let timeout = settings.mongo.operation_limit();
    let mut state = State {
        mongo: settings.mongo,
        client: None,
        store: None,
        indexed: false,
        known,
        clock: settings.clock,
        on_alert: settings.on_alert,
        alert_logger: settings.alert_logger,
        deliveries: Vec::new(),
        spool_dir: settings.spool_dir,
        spends,
        settles,
        timeout,
        rates: settings.rates,
    };
    let mut refresh = tokio::time::interval(Duration::from_secs(10));
    loop {
        tokio::select! {
            request = requests.recv() => {
                let Some(request) = request else { break };
                state.handle(request).await;
            }
            _ = refresh.tick() => {
                state.sync().await;
                state.count_left().await;
                state.deliveries.retain(|d| !d.is_finished());
            }
        }
    }
    for delivery in state.deliveries {
        let _ = delivery.await;
    }
    state.spends.tidy();
    state.settles.tidy();
}

impl State {
    async fn store(&mut self) -> Option<BudgetStore> {
        if self.store.is_none() {
            let client = match &self.client {
                Some(client) => client.clone(),
                None => tokio::time::timeout(self.timeout, self.mongo.client())
                    .await
                    .ok()?
                    .ok()?,
            };
            self.client = Some(client.clone());
            let store = BudgetStore::new(&client);
            if !self.indexed {
                // Once per process; a failure is retried with the next client.
                self.indexed = tokio::time::timeout(self.timeout, store.ensure_indexes())
                    .await
                    .is_ok_and(|made| made.is_ok());
            }
            self.store = Some(store);
        }
        self.store.clone()
    }

    /// Writes the budgets defined in code and reads every definition.
    async fn sync(&mut self) {
        let Some(store) = self.store().await else {
            return;
        };
        if !self.known.sync(&store, self.timeout).await {
            self.store = None;
        }
    }

    async fn handle(&mut self, request: Request) {
        match request {
            Request::Spend(entry, mark) => self.spend(*entry, mark).await,
            Request::Alerts { budget, period, at } => {
                if let Some(store) = self.store().await {
                    self.alerts(&store, &budget, &period, at).await;
                }
            }
            Request::Flush(done) => {
                self.count_left().await;
                self.spends.tidy();
                self.settles.tidy();
                for delivery in std::mem::take(&mut self.deliveries) {
                    let _ = delivery.await;
                }
                let _ = done.send(());
            }
            Request::Statuses(reply) => {
                self.sync().await;
                let now = (self.clock)();
                let mut statuses = Some(Vec::new());
                if let Some(store) = self.store().await {
                    for budget in self.known.all() {
                        match tokio::time::timeout(self.timeout, store.status(&budget, now)).await {
                            Ok(Ok(status)) => statuses.get_or_insert_with(Vec::new).push(status),
                            _ => statuses = None,
                        }
                    }
                } else {
                    statuses = None;
                }
                let _ = reply.send(statuses);
            }
        }
    }

    /// What `amount` in `currency` adds to `budget`, counted at `now`.
    fn counting(
        &self,
        budget: &Budget,
        amount: Decimal,
        currency: &str,
        now: DateTime<Utc>,
    ) -> Counting {
        Counting::amount(
            budget,
            &self.rates,
            amount,
            currency,
            local_day(budget, now),
        )
    }

    /// Counts the writer's spend live, in the order written down; after
    /// a failure its stream stops and what follows waits on disk.
    async fn spend(&mut self, entry: Entry, mark: Option<Mark>) {
        if !self.spends.counts_live(mark.as_ref()) {
            return;
        }
        if !self.known.synced() {
            self.sync().await;
        }
        crate::faults::point("spend:before-count");
        // Matched against too few budgets (the database's not read yet),
        // spend would be lost: it waits on disk until they are.
        let counted = self.known.synced()
            && self
                .try_spend(&entry.spend, entry.at, mark.as_ref())
                .await
                .is_ok();
        match (counted, &mark) {
            (true, Some(mark)) => self.spends.counted(mark),
            (true, None) => {}
            (false, _) => self.spends.failed(),
        }
    }

    /// Counts the batches on disk no counter counts live (left after a
    /// failure, or by a process that ended), oldest first, each from its
    /// first entry (the marks skip what was counted); stops at the first
    /// failure, leaving the rest on disk. Then the streams that stopped
    /// count live again, and what they wrote down meanwhile is counted.
    /// Only once the definitions are read: spend is matched against them.
    async fn count_left(&mut self) {
        if !self.known.synced() {
            self.sync().await;
            if !self.known.synced() {
                return;
            }
        }
        loop {
            let mut busy = self.spends.busy();
            busy.extend(self.settles.busy());
            for (batch, path) in journal::closed(&self.spool_dir, &busy) {
                let Ok(entries) = journal::read(&path) else {
                    continue;
                };
                for (index, entry) in entries.iter().enumerate() {
                    let mark = Mark {
                        batch: batch.clone(),
                        index: index as i64,
                    };
                    if self
                        .try_spend(&entry.spend, entry.at, Some(&mark))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                let _ = std::fs::remove_file(&path);
            }
            let closed_spends = self.spends.resume();
            let closed_settles = self.settles.resume();
            if !closed_spends && !closed_settles {
                return;
            }
        }
    }

    /// Counts `spend`, as at `at` (once for `mark`, when given).
    async fn try_spend(
        &mut self,
        spend: &Spend,
        at: DateTime<Utc>,
        mark: Option<&Mark>,
    ) -> Result<(), ()> {
        let matching: Vec<Budget> = self
            .known
            .all()
            .into_iter()
            .filter(|b| counts_in(b, spend))
            .collect();
        if matching.is_empty() {
            return Ok(());
        }
        let store = self.store().await.ok_or(())?;
        let now = at;
        for budget in matching {
            let reserved = spend
                .reserved
                .as_ref()
                .filter(|r| r.held && r.budget == budget.name);
            // An unpriced call settles at its estimate (the event says so),
            // which is in its reservation's currency.
            let counting = match (spend.amount, reserved) {
                (Some(amount), _) => self.counting(&budget, amount, &spend.currency, now),
                (None, Some(r)) => self
                    .counting(&budget, r.estimate, &r.currency, now)
                    .at_estimate(),
                (None, None) => Counting::unpriced(),
            };
            let settled = tokio::time::timeout(
                self.timeout,
                store.count_marked(
                    &budget,
                    reserved.map(|r| r.call_id.as_str()),
                    &counting,
                    now,
                    mark,
                ),
            )
            .await;
            let period = match settled {
                Ok(Ok(period)) => period,
                _ => {
                    self.store = None;
                    return Err(());
                }
            };
            self.alerts(&store, &budget, &period, now).await;
        }
        Ok(())
    }
}

/// Whether `spend` adds to `budget`.
pub(crate) fn counts_in(budget: &Budget, spend: &Spend) -> bool {
    let reserved = spend.reserved.as_ref().filter(|r| r.budget == budget.name);
    let concerned = match &spend.only {
        Some(only) => &budget.name == only,
        // The budget a call reserved in counts its spend, whatever its
        // scope says.
        None => in_scope(budget, spend) || reserved.is_some_and(|r| r.held && !r.settled),
    };
    // Settled by its call already.
    concerned && !reserved.is_some_and(|r| r.settled)
}

/// Whether `spend` falls in `budget`'s scope.
fn in_scope(budget: &Budget, spend: &Spend) -> bool {
    let s = &budget.scope;
    let same = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
    same(&s.provider, &spend.provider)
        && same(&s.service, &spend.service)
        && same(&s.resource, &spend.resource)
        && same(&s.username, &spend.username)
        && same(&s.env, &spend.env)
        && s.user
            .as_deref()
            .is_none_or(|u| spend.user.as_deref() == Some(u))
        && s.tags.iter().all(|t| spend.tags.contains(t))
}
