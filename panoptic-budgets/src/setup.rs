//! What a handle's budgets are made of, as the builder collects them, and
//! the start function core's budget hook is given.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use panoptic_core::Panoptic;
use panoptic_core::budget_hook::{BudgetHook, HookSettings, StartHook};
use panoptic_core::config::{lookup, vars};
use panoptic_core::prices::rates::Rates;

use crate::Alert;
use crate::broker::Broker;
use crate::define::{Budget, BudgetError};
use crate::settings::{AlertCallback, BrokerSettings, Clock};
use crate::store::BudgetStatus;

/// Budgets as a builder collects them: definitions in code, whether the
/// database's definitions are wanted, the clock, the alert callback and
/// the exchange rates.
#[derive(Default, Clone)]
pub struct BudgetSetup {
    budgets: Vec<Budget>,
    enabled: bool,
    clock: Option<Clock>,
    on_alert: Option<AlertCallback>,
    rates: Option<Rates>,
}

impl std::fmt::Debug for BudgetSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BudgetSetup")
            .field("budgets", &self.budgets)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

impl BudgetSetup {
    /// Defines a budget (saved to the database) and turns budgets on.
    pub fn define(&mut self, budget: Budget) {
        self.budgets.push(budget);
        self.enabled = true;
    }

    /// Turns budgets on with the definitions already in the database.
    pub fn from_database(&mut self) {
        self.enabled = true;
    }

    /// The clock periods are read from (default: the system clock).
    pub fn clock(&mut self, clock: impl Fn() -> DateTime<Utc> + Send + Sync + 'static) {
        self.clock = Some(Arc::new(clock));
    }

    /// Receives each alert, once per budget, period and threshold.
    pub fn on_alert(&mut self, callback: impl Fn(&Alert) + Send + Sync + 'static) {
        self.on_alert = Some(Arc::new(callback));
    }

    /// The rates that count spend in another currency than a budget's
    /// (default: the file `PANOPTIC_RATES` names, if any). Without a rate,
    /// such spend is left out and every status and alert says so.
    pub fn rates(&mut self, rates: Rates) {
        self.rates = Some(rates);
    }

    /// Adds the budgets of the `PANOPTIC_BUDGETS` file, when it names one,
    /// reads the rates of `PANOPTIC_RATES` unless rates were given, checks
    /// every definition, and returns the start function for core's budget
    /// hook when budgets are on.
    pub fn into_start(mut self) -> Result<Option<StartHook>, BudgetError> {
        if let Some(path) = lookup(vars::PANOPTIC_BUDGETS) {
            self.budgets.extend(Budget::from_file(Path::new(&path))?);
            self.enabled = true;
        }
        for budget in &self.budgets {
            budget.validate()?;
        }
        if !self.enabled {
            return Ok(None);
        }
        let rates = match self.rates {
            Some(rates) => rates,
            None => Rates::from_env().map_err(|e| BudgetError(e.to_string()))?,
        };
        Ok(Some(Box::new(move |hook: HookSettings| {
            let broker = Broker::start(BrokerSettings {
                mongo: hook.mongo,
                budgets: self.budgets,
                spool_dir: hook.spool_dir,
                clock: self.clock.unwrap_or_else(|| Arc::new(Utc::now)),
                on_alert: self.on_alert,
                alert_logger: hook.logger,
                rates,
            })?;
            Ok(Arc::new(broker) as Arc<dyn BudgetHook>)
        })))
    }
}

/// The state of every budget in the database now (spent, reserved, limit,
/// forecast), after settling what `panoptic` has sent. `None` when budgets
/// are off for that handle or MongoDB does not answer.
pub fn statuses(panoptic: &Panoptic) -> Option<Vec<BudgetStatus>> {
    let hook = panoptic.budget_hook()?;
    panoptic.flush();
    hook.flush();
    hook.as_any().downcast_ref::<Broker>()?.statuses()
}
