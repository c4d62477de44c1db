//! The broker's loop: one task on its own thread and runtime that
//! answers reservations, settles calls, counts spend against the budgets
//! whose scope holds it, and keeps what MongoDB could not take for later.

use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use mongodb::Client;
use rust_decimal::Decimal;
use tokio::sync::{mpsc, oneshot};

use panoptic_core::budget_hook::{BudgetExceeded, Reservation, Reserved, Spend};
use panoptic_core::connect::MongoSettings;
use panoptic_core::prices::rates::Rates;
use panoptic_core::report::write_line;

use crate::counting::{Counting, in_budget_currency, no_rate};
use crate::define::{Budget, FailurePolicy, Mode};
use crate::period::PeriodKey;
use crate::settings::{AlertCallback, BrokerSettings, Clock};
use crate::store::{BudgetStatus, BudgetStore};

pub(crate) enum Reply {
    Blocking(std_mpsc::SyncSender<Result<Reserved, BudgetExceeded>>),
    Async(oneshot::Sender<Result<Reserved, BudgetExceeded>>),
}

pub(crate) enum Request {
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

pub(crate) struct State {
    pub(crate) mongo: MongoSettings,
    /// The client once made; dropped after a failure so the next try connects anew.
    pub(crate) client: Option<Client>,
    pub(crate) store: Option<BudgetStore>,
    pub(crate) budgets: Vec<Budget>,
    pub(crate) defined_in_code: Vec<Budget>,
    pub(crate) synced: bool,
    pub(crate) clock: Clock,
    pub(crate) on_alert: Option<AlertCallback>,
    pub(crate) alert_logger: Arc<OnceLock<slog::Logger>>,
    pub(crate) warned_unknown: Vec<String>,
    pub(crate) save_warned: bool,
    /// Webhook posts in flight.
    pub(crate) deliveries: Vec<tokio::task::JoinHandle<()>>,
    /// Spend MongoDB could not take yet (fail-open): retried later.
    pub(crate) backlog: Vec<Spend>,
    pub(crate) timeout: Duration,
    /// The rates that count spend in another currency than a budget's.
    pub(crate) rates: Rates,
}

pub(crate) async fn serve(
    settings: BrokerSettings,
    mut requests: mpsc::UnboundedReceiver<Request>,
) {
    let timeout = settings.mongo.operation_limit();
    let mut state = State {
        mongo: settings.mongo,
        client: None,
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
                let answer = self.answer(reservation, call_id).await;
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
                // The amount is the call's own, in its site's currency: the
                // reservation's.
                let currency = reserved.currency.clone();
                let settled = match self.store().await {
                    Some(store) => {
                        let now = (self.clock)();
                        let counting = self.counting(&budget, amount, &currency, now);
                        let done = tokio::time::timeout(
                            self.timeout,
                            store.count(&budget, Some(&reserved.call_id), &counting, now),
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
                        currency,
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

    /// Holds the call's estimate, converted into the budget's currency, or
    /// says why not.
    async fn answer(
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
            currency: reservation.currency.clone(),
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
        let now = (self.clock)();
        let day = local_day(&budget, now);
        let period = budget
            .zone()
            .map(|zone| PeriodKey::of(budget.period, zone, now).name)
            .unwrap_or_default();
        let unavailable = |why: String| match budget.on_unavailable {
            FailurePolicy::FailOpen => Ok(open.clone()),
            FailurePolicy::FailClosed => Err(BudgetExceeded {
                budget: budget.name.clone(),
                period: period.clone(),
                limit: budget.limit,
                committed: Decimal::ZERO,
                estimate: reservation.estimate,
                unavailable: Some(why),
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
                return unavailable(no_rate(&budget, &reservation.currency, day));
            }
            None => Decimal::ZERO,
        };
        let Some(store) = self.store().await else {
            return unavailable("MongoDB does not answer".to_owned());
        };
        let attempt = tokio::time::timeout(
            self.timeout,
            store.reserve_for(&budget, &call_id, estimate, &reservation.currency, now),
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
                store.count(
                    &budget,
                    reserved.map(|r| r.call_id.as_str()),
                    &counting,
                    now,
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

/// The day `now` falls on in `budget`'s time zone: the day a rate is
/// taken for, as the period's days are.
fn local_day(budget: &Budget, now: DateTime<Utc>) -> NaiveDate {
    budget.zone().map_or_else(
        |_| now.date_naive(),
        |zone| now.with_timezone(&zone).date_naive(),
    )
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
