//! The budget broker: one thread per handle, with its own runtime and
//! MongoDB client, that answers reservations for callers (the one round
//! trip a budgeted call pays before its body runs) and settles spend for
//! the writer (off every caller's path).

use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use tokio::sync::{mpsc, oneshot};

use super::define::{Budget, FailurePolicy, Mode};
use super::forecast::forecast;
use super::period::PeriodKey;
use super::store::{BudgetStatus, BudgetStore, spent_and_limit};
use super::{Alert, BudgetExceeded};
use crate::connect::MongoSettings;
use crate::mongo::Mongo;
use crate::report::write_line;
pub use crate::reservation::Reserved;

/// What a `#[billable(budget = "…", estimate = …)]` call asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Reservation {
    /// The budget's name.
    pub budget: String,
    /// What to hold until the call ends.
    pub estimate: Decimal,
}

/// Spend to count against the budgets whose scope holds it.
#[derive(Debug, Clone)]
pub(crate) struct Spend {
    pub provider: String,
    pub service: String,
    pub resource: String,
    pub username: String,
    pub user: Option<String>,
    pub env: String,
    pub tags: Vec<String>,
    /// `None`: unpriced; a reserved call then settles at its estimate.
    pub amount: Option<Decimal>,
    pub reserved: Option<Reserved>,
    /// Counts against this budget only (a settlement retried later).
    pub only: Option<String>,
}

/// The clock budgets read: injectable, so a test can cross midnight
/// without waiting for it.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// A callback that receives each alert, once.
pub type AlertCallback = Arc<dyn Fn(&Alert) + Send + Sync>;

enum Reply {
    Blocking(std_mpsc::SyncSender<Result<Reserved, BudgetExceeded>>),
    Async(oneshot::Sender<Result<Reserved, BudgetExceeded>>),
}

enum Request {
    Reserve {
        reservation: Reservation,
        call_id: String,
        reply: Reply,
    },
    Spend(Box<Spend>),
    /// A call that knew its amount as it ended: settled at once, so the
    /// money it held is free for the next call.
    Settle {
        reserved: Reserved,
        amount: Decimal,
    },
    Flush(std_mpsc::SyncSender<()>),
    Statuses(std_mpsc::SyncSender<Option<Vec<BudgetStatus>>>),
}

/// Settings of the broker.
pub(crate) struct BrokerSettings {
    pub mongo: MongoSettings,
    pub budgets: Vec<Budget>,
    pub clock: Clock,
    pub on_alert: Option<AlertCallback>,
    /// Set once the handle's loggers exist.
    pub alert_logger: Arc<OnceLock<slog::Logger>>,
}

/// The handle's side of the broker.
pub(crate) struct Broker {
    requests: mpsc::UnboundedSender<Request>,
    timeout: Duration,
}

impl Broker {
    /// Starts the broker thread.
    pub fn start(settings: BrokerSettings) -> std::io::Result<Broker> {
        let (requests, receiver) = mpsc::unbounded_channel();
        let timeout = settings.mongo.operation_limit();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name("panoptic-budgets".to_owned())
            .spawn(move || runtime.block_on(serve(settings, receiver)))?;
        Ok(Broker { requests, timeout })
    }

    /// Reserves for a synchronous call, waiting at most the operation
    /// timeout (plus a second for the broker's own bookkeeping).
    pub fn reserve_blocking(&self, reservation: Reservation) -> Result<Reserved, BudgetExceeded> {
        let (tx, rx) = std_mpsc::sync_channel(1);
        let call_id = bson::oid::ObjectId::new().to_hex();
        let fallback = unanswered(&reservation, &call_id);
        let sent = self.requests.send(Request::Reserve {
            reservation,
            call_id,
            reply: Reply::Blocking(tx),
        });
        if sent.is_err() {
            return fallback;
        }
        rx.recv_timeout(self.timeout * 2 + Duration::from_secs(1))
            .unwrap_or(fallback)
    }

    /// Reserves for an async call: awaits the broker's answer (the broker
    /// bounds every operation, so this cannot hang).
    pub async fn reserve(&self, reservation: Reservation) -> Result<Reserved, BudgetExceeded> {
        let (tx, rx) = oneshot::channel();
        let call_id = bson::oid::ObjectId::new().to_hex();
        let fallback = unanswered(&reservation, &call_id);
        if self
            .requests
            .send(Request::Reserve {
                reservation,
                call_id,
                reply: Reply::Async(tx),
            })
            .is_err()
        {
            return fallback;
        }
        rx.await.unwrap_or(fallback)
    }

    /// Settles a reservation as its call ends (never waits).
    pub fn settle(&self, reserved: Reserved, amount: Decimal) {
        let _ = self.requests.send(Request::Settle { reserved, amount });
    }

    /// Counts spend (from the writer; never waits).
    pub fn spend(&self, spend: Spend) {
        let _ = self.requests.send(Request::Spend(Box::new(spend)));
    }

    /// Waits until every spend sent so far is settled.
    pub fn flush(&self) {
        let (tx, rx) = std_mpsc::sync_channel(1);
        if self.requests.send(Request::Flush(tx)).is_ok() {
            let _ = rx.recv_timeout(self.timeout * 4 + Duration::from_secs(1));
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

/// When the broker does not answer at all: fail open (the broker thread
/// is gone; nothing can be held).
fn unanswered(reservation: &Reservation, call_id: &str) -> Result<Reserved, BudgetExceeded> {
    Ok(Reserved {
        budget: reservation.budget.clone(),
        call_id: call_id.to_owned(),
        estimate: reservation.estimate,
        held: false,
        settled: false,
    })
}

struct State {
    mongo: Mongo,
    store: Option<BudgetStore>,
    budgets: Vec<Budget>,
    defined_in_code: Vec<Budget>,
    synced: bool,
    clock: Clock,
    on_alert: Option<AlertCallback>,
    alert_logger: Arc<OnceLock<slog::Logger>>,
    warned_unknown: Vec<String>,
    save_warned: bool,
    /// Webhook posts in flight.
    deliveries: Vec<tokio::task::JoinHandle<()>>,
    /// Spend MongoDB could not take yet (fail-open): retried later.
    backlog: Vec<Spend>,
    timeout: Duration,
}

async fn serve(settings: BrokerSettings, mut requests: mpsc::UnboundedReceiver<Request>) {
    let timeout = settings.mongo.operation_limit();
    let mut state = State {
        mongo: Mongo::new(settings.mongo),
        store: None,
        budgets: settings.budgets.clone(),
        defined_in_code: settings.budgets,
        synced: false,
        clock: settings.clock,
        on_alert: settings.on_alert,
        alert_logger: settings.alert_logger,
        warned_unknown: Vec::new(),
        save_warned: false,
        deliveries: Vec::new(),
        backlog: Vec::new(),
        timeout,
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
            let client = tokio::time::timeout(self.timeout, self.mongo.client())
                .await
                .ok()?
                .ok()?;
            self.store = Some(BudgetStore::new(&client));
        }
        self.store.clone()
    }

    /// Writes the budgets defined in code and reads every definition.
    async fn sync(&mut self) {
        let Some(store) = self.store().await else {
            return;
        };
        if !self.synced {
            for budget in self.defined_in_code.clone() {
                if let Ok(Err(e)) = tokio::time::timeout(self.timeout, store.set(&budget)).await
                    && !self.save_warned
                {
                    self.save_warned = true;
                    write_line(&format!(
                        "panoptic: cannot save budget `{}`: {e}",
                        budget.name
                    ));
                }
            }
        }
        if let Ok(Ok(budgets)) = tokio::time::timeout(self.timeout, store.list()).await {
            self.synced = true;
            self.budgets = budgets;
        }
    }

    async fn handle(&mut self, request: Request) {
        match request {
            Request::Reserve {
                reservation,
                call_id,
                reply,
            } => {
                let answer = self.reserve(reservation, call_id).await;
                match reply {
                    Reply::Blocking(tx) => {
                        let _ = tx.send(answer);
                    }
                    Reply::Async(tx) => {
                        let _ = tx.send(answer);
                    }
                }
            }
            Request::Spend(spend) => self.spend(*spend).await,
            Request::Settle { reserved, amount } => {
                let Some(budget) = self.budget(&reserved.budget) else {
                    return;
                };
                let settled = match self.store().await {
                    Some(store) => {
                        let now = (self.clock)();
                        let done = tokio::time::timeout(
                            self.timeout,
                            store.settle(&budget, Some(&reserved.call_id), amount, now),
                        )
                        .await;
                        match done {
                            Ok(Ok(period)) => {
                                self.alerts(&store, &budget, &period, now).await;
                                true
                            }
                            _ => false,
                        }
                    }
                    None => false,
                };
                if !settled {
                    self.store = None;
                    // The reservation expires; the spend is counted later.
                    self.backlog.push(Spend {
                        provider: String::new(),
                        service: String::new(),
                        resource: String::new(),
                        username: String::new(),
                        user: None,
                        env: String::new(),
                        tags: Vec::new(),
                        amount: Some(amount),
                        reserved: Some(Reserved {
                            settled: false,
                            ..reserved
                        }),
                        only: Some(budget.name.clone()),
                    });
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
                    for budget in self.budgets.clone() {
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

    fn budget(&self, name: &str) -> Option<Budget> {
        self.budgets.iter().find(|b| b.name == name).cloned()
    }

    async fn reserve(
        &mut self,
        reservation: Reservation,
        call_id: String,
    ) -> Result<Reserved, BudgetExceeded> {
        if !self.synced || self.budget(&reservation.budget).is_none() {
            self.sync().await;
        }
        let open = Reserved {
            budget: reservation.budget.clone(),
            call_id: call_id.clone(),
            estimate: reservation.estimate,
            held: false,
            settled: false,
        };
        let Some(budget) = self.budget(&reservation.budget) else {
            if !self.warned_unknown.contains(&reservation.budget) {
                self.warned_unknown.push(reservation.budget.clone());
                write_line(&format!(
                    "panoptic: warning: no budget named `{}` (define it in code, in PANOPTIC_BUDGETS \
                     or with `panoptic budgets set`); its calls run unchecked",
                    reservation.budget
                ));
            }
            return Ok(open);
        };
        let unavailable = |why: String| match budget.on_unavailable {
            FailurePolicy::FailOpen => Ok(open.clone()),
            FailurePolicy::FailClosed => Err(BudgetExceeded {
                budget: budget.name.clone(),
                period: String::new(),
                limit: budget.limit,
                committed: Decimal::ZERO,
                estimate: reservation.estimate,
                unavailable: Some(why),
            }),
        };
        let Some(store) = self.store().await else {
            return unavailable("MongoDB does not answer".to_owned());
        };
        let now = (self.clock)();
        let attempt = tokio::time::timeout(
            self.timeout,
            store.reserve(&budget, &call_id, reservation.estimate, now),
        )
        .await;
        match attempt {
            Ok(Ok(Ok(_))) => Ok(Reserved { held: true, ..open }),
            Ok(Ok(Err(refused))) if budget.mode == Mode::Enforce => Err(refused),
            // Observe and warn never refuse: the call runs, unreserved.
            Ok(Ok(Err(_))) => Ok(open),
            Ok(Err(e)) => {
                self.store = None;
                unavailable(e)
            }
            Err(_) => {
                self.store = None;
                unavailable(format!("no answer within {:?}", self.timeout))
            }
        }
    }

    async fn spend(&mut self, spend: Spend) {
        if !self.synced {
            self.sync().await;
        }
        if self.try_spend(&spend).await.is_err() {
            // Counted when MongoDB is back (fail-open's local ledger).
            if self.backlog.len() < 1_000_000 {
                self.backlog.push(spend);
            }
        }
    }

    async fn retry_backlog(&mut self) {
        let backlog = std::mem::take(&mut self.backlog);
        for (i, spend) in backlog.iter().enumerate() {
            if self.try_spend(spend).await.is_err() {
                self.backlog.extend(backlog[i..].iter().cloned());
                return;
            }
        }
    }

    async fn try_spend(&mut self, spend: &Spend) -> Result<(), ()> {
        let matching: Vec<Budget> = self
            .budgets
            .iter()
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
            .cloned()
            .collect();
        if matching.is_empty() {
            return Ok(());
        }
        let store = self.store().await.ok_or(())?;
        // Settled by the budgets' clock: the wall clock, a few milliseconds
        // after the event, unless a test injected another.
        let now = (self.clock)();
        for budget in matching {
            let reserved = spend
                .reserved
                .as_ref()
                .filter(|r| r.held && r.budget == budget.name);
            // An unpriced call settles at its estimate (the event says so).
            let actual = match (spend.amount, reserved) {
                (Some(amount), _) => amount,
                (None, Some(r)) => r.estimate,
                (None, None) => continue,
            };
            let settled = tokio::time::timeout(
                self.timeout,
                store.settle(&budget, reserved.map(|r| r.call_id.as_str()), actual, now),
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

    async fn alerts(
        &mut self,
        store: &BudgetStore,
        budget: &Budget,
        period: &bson::Document,
        at: DateTime<Utc>,
    ) {
        if budget.mode == Mode::Observe {
            return;
        }
        let (spent, limit) = spent_and_limit(period);
        let Ok(zone) = budget.zone() else { return };
        let key = PeriodKey::of(budget.period, zone, at);
        let period_id = BudgetStore::period_id(budget, &key);
        let mut crossed: Vec<(String, Option<u32>)> = budget
            .alerts
            .iter()
            .filter(|p| spent * Decimal::from(100) >= limit * Decimal::from(**p))
            .map(|p| (p.to_string(), Some(*p)))
            .collect();
        if budget.alert_on_forecast && spent < limit {
            let days = period.get_document("days").cloned().unwrap_or_default();
            let daily: Vec<Decimal> = (0..key.days_elapsed())
                .map(|i| {
                    let day = key.first_day + chrono::Days::new(u64::from(i));
                    match days.get(day.to_string()) {
                        Some(bson::Bson::Decimal128(d)) => {
                            crate::money::from_decimal128(*d).unwrap_or_default()
                        }
                        _ => Decimal::ZERO,
                    }
                })
                .collect();
            if forecast(key.first_day, &daily, key.days(), limit).end_of_period > limit {
                crossed.push(("forecast".to_owned(), None));
            }
        }
        for (threshold, percent) in crossed {
            let claimed =
                tokio::time::timeout(self.timeout, store.claim_alert(&period_id, &threshold)).await;
            if !matches!(claimed, Ok(Ok(true))) {
                continue;
            }
            let alert = Alert {
                budget: budget.name.clone(),
                period: key.name.clone(),
                percent,
                spent,
                limit,
                currency: budget.currency.clone(),
            };
            self.send(&alert, budget.webhook.as_deref());
        }
    }

    fn send(&mut self, alert: &Alert, webhook: Option<&str>) {
        write_line(&format!("panoptic: alert: {alert}"));
        if let Some(logger) = self.alert_logger.get() {
            crate::billing!(logger, "budget_alert";
                "resource" => format!("budget:{}", alert.budget),
                "amount" => "0",
                crate::keys::metadata::ALERT => true,
                "budget" => alert.budget.as_str(),
                "period" => alert.period.as_str(),
                "threshold" => alert.percent.map_or_else(|| "forecast".to_owned(), |p| p.to_string()),
                "spent" => alert.spent.to_string(),
                "limit" => alert.limit.to_string());
        }
        if let Some(url) = webhook {
            #[cfg(feature = "webhooks")]
            {
                let (url, alert) = (url.to_owned(), alert.clone());
                // Off the broker's path: retries must not hold reservations
                // up. Flushes and shutdown wait for it.
                self.deliveries.push(tokio::spawn(async move {
                    if let Err(e) = super::webhook::post(&url, &alert).await {
                        write_line(&format!("panoptic: budget alert not delivered: {e}"));
                    }
                }));
            }
            #[cfg(not(feature = "webhooks"))]
            write_line(&format!(
                "panoptic: budget `{}` names a webhook ({url}), but panoptic was built \
                 without the `webhooks` feature",
                alert.budget
            ));
        }
        if let Some(callback) = &self.on_alert {
            let callback = Arc::clone(callback);
            let alert = alert.clone();
            // A panicking callback must not take the broker down.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| callback(&alert)));
        }
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

impl Spend {
    /// The spend of a stored event, with the reservation its call held.
    /// A record that names a `budget` and a `call_id` in its metadata (a
    /// client's invoice inside a budgeted call) settles that call's
    /// reservation at its amount.
    pub(crate) fn of(document: &bson::RawDocument, reserved: Option<Reserved>) -> Spend {
        use crate::keys::{self, metadata as meta};
        let text = |key: &str| document.get_str(key).unwrap_or_default().to_owned();
        let metadata = document.get_document(keys::METADATA).ok();
        let reserved = reserved.or_else(|| {
            let metadata = metadata?;
            if metadata.get_bool(meta::START).ok().unwrap_or(false) {
                return None;
            }
            Some(Reserved {
                budget: metadata.get_str("budget").ok()?.to_owned(),
                call_id: metadata.get_str(meta::CALL_ID).ok()?.to_owned(),
                estimate: Decimal::ZERO,
                held: true,
                settled: false,
            })
        });
        let amount = match document.get(keys::AMOUNT) {
            Ok(Some(bson::RawBsonRef::Decimal128(d))) => crate::money::from_decimal128(d).ok(),
            _ => None,
        };
        Spend {
            provider: text(keys::PROVIDER),
            service: text(keys::SERVICE),
            resource: text(keys::RESOURCE),
            username: text(keys::USERNAME),
            user: metadata.and_then(|m| m.get_str(meta::USER).ok().map(str::to_owned)),
            env: text(keys::ENV),
            tags: metadata
                .and_then(|m| m.get_array(meta::TAGS).ok())
                .map(|tags| {
                    tags.into_iter()
                        .filter_map(|t| t.ok().and_then(|t| t.as_str()).map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            amount,
            reserved,
            only: None,
        }
    }
}
