//! The broker's spend loop: one task on its own thread and runtime that
//! settles calls, counts spend against the budgets whose scope holds it,
//! syncs definitions, sends alerts, and keeps what MongoDB could not take
//! on disk until it is counted, once ([`crate::backlog`]). Reservations are answered elsewhere ([`crate::reserve`]),
//! never behind this loop's work.

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

use crate::backlog::{self, Backlog, Entry};
use crate::counting::Counting;
use crate::define::Budget;
use crate::known::Known;
use crate::period::local_day;
use crate::settings::{AlertCallback, BrokerSettings, Clock};
use crate::store::{BudgetStatus, BudgetStore, Mark};

pub(crate) enum Request {
    Spend(Box<Spend>),
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
    /// The definitions, shared with the reservation side.
    pub(crate) known: Arc<Known>,
    pub(crate) clock: Clock,
    pub(crate) on_alert: Option<AlertCallback>,
    pub(crate) alert_logger: Arc<OnceLock<slog::Logger>>,
    /// Webhook posts in flight.
    pub(crate) deliveries: Vec<tokio::task::JoinHandle<()>>,
    /// Spend MongoDB could not take yet (fail-open), on disk: counted
    /// later, once, by this process or the next.
    pub(crate) backlog: Backlog,
    /// Set when MongoDB failed a spend: spend goes straight to the
    /// backlog (the loop keeps up with a stalled server) until the
    /// backlog is counted.
    pub(crate) down: bool,
    backlog_warned: bool,
    pub(crate) timeout: Duration,
    /// The rates that count spend in another currency than a budget's.
    pub(crate) rates: Rates,
}

pub(crate) async fn serve(
    settings: BrokerSettings,
    known: Arc<Known>,
    mut requests: mpsc::UnboundedReceiver<Request>,
) {
    let timeout = settings.mongo.operation_limit();
    let mut state = State {
        mongo: settings.mongo,
        client: None,
        store: None,
        known,
        clock: settings.clock,
        on_alert: settings.on_alert,
        alert_logger: settings.alert_logger,
        deliveries: Vec::new(),
        backlog: Backlog::new(&settings.spool_dir),
        down: false,
        backlog_warned: false,
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
                state.retry_backlog().await;
                state.deliveries.retain(|d| !d.is_finished());
            }
        }
    }
    for delivery in state.deliveries {
        let _ = delivery.await;
    }
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
            self.store = Some(BudgetStore::new(&client));
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
            Request::Spend(spend) => self.spend(*spend).await,
            Request::Alerts { budget, period, at } => {
                if let Some(store) = self.store().await {
                    self.alerts(&store, &budget, &period, at).await;
                }
            }
            Request::Flush(done) => {
                self.retry_backlog().await;
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

    async fn spend(&mut self, spend: Spend) {
        if !self.down && !self.known.synced() {
            self.sync().await;
        }
        // Counted in the period it happened in, whenever it is counted.
        let at = (self.clock)();
        if !self.down && self.try_spend(&spend, at, None).await.is_ok() {
            return;
        }
        self.down = true;
        if let Err(e) = self.backlog.push(&Entry { spend, at })
            && !self.backlog_warned
        {
            self.backlog_warned = true;
            panoptic_core::report::write_line(&format!(
                "panoptic: budget spend MongoDB could not take cannot be kept on disk: {e}"
            ));
        }
    }

    /// Counts the backlog's closed batches (the open one closed first),
    /// oldest first; stops at the first failure, leaving the rest on
    /// disk. Only once the definitions are read: spend is matched against
    /// them, and a batch counted against too few budgets would be lost.
    async fn retry_backlog(&mut self) {
        if !self.known.synced() {
            self.sync().await;
            if !self.known.synced() {
                return;
            }
        }
        self.backlog.close();
        for (batch, path) in self.backlog.closed() {
            let Ok(entries) = backlog::read(&path) else {
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
        self.down = false;
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
            .filter(|b| match &spend.only {
                Some(only) => &b.name == only,
                // The budget a call reserved in counts its spend, whatever
                // its scope says.
                None => {
                    in_scope(b, spend)
                        || spend
                            .reserved
                            .as_ref()
                            .is_some_and(|r| r.held && !r.settled && r.budget == b.name)
                }
            })
            // Settled by its call already.
            .filter(|b| {
                !spend
                    .reserved
                    .as_ref()
                    .is_some_and(|r| r.settled && r.budget == b.name)
            })
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
