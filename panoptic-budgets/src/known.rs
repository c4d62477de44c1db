//! The budget definitions a handle knows, shared by the broker's two
//! sides: the spend loop and the reservation thread each read them, and
//! whichever reaches MongoDB first refreshes them for both. The caller of
//! a reservation reads them too, to apply a budget's policy itself when
//! no answer comes in time.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use panoptic_core::report::write_line;

use crate::define::Budget;
use crate::store::BudgetStore;

pub(crate) struct Known {
    /// Defined in code: saved to the database until a sync succeeds, and
    /// used as they are until the database's list is read.
    in_code: Vec<Budget>,
    /// The database's list, once read.
    listed: RwLock<Option<Vec<Budget>>>,
    save_warned: AtomicBool,
}

impl Known {
    pub(crate) fn new(in_code: Vec<Budget>) -> Known {
        Known {
            in_code,
            listed: RwLock::new(None),
            save_warned: AtomicBool::new(false),
        }
    }

    /// Whether the database's list was read.
    pub(crate) fn synced(&self) -> bool {
        self.listed
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    /// Every budget: the database's, and those defined in code that it
    /// lacks (their save failed).
    pub(crate) fn all(&self) -> Vec<Budget> {
        let listed = self.listed.read().unwrap_or_else(PoisonError::into_inner);
        let mut all = listed.clone().unwrap_or_default();
        for budget in &self.in_code {
            if !all.iter().any(|b| b.name == budget.name) {
                all.push(budget.clone());
            }
        }
        all
    }

    /// The budget named `name`, if known.
    pub(crate) fn get(&self, name: &str) -> Option<Budget> {
        let listed = self.listed.read().unwrap_or_else(PoisonError::into_inner);
        listed
            .iter()
            .flatten()
            .chain(&self.in_code)
            .find(|b| b.name == name)
            .cloned()
    }

    /// Writes the budgets defined in code (until a list succeeded once)
    /// and reads every definition, each operation within `timeout`.
    /// False when MongoDB did not answer.
    pub(crate) async fn sync(&self, store: &BudgetStore, timeout: Duration) -> bool {
        if !self.synced() {
            for budget in &self.in_code {
                if let Ok(Err(e)) = tokio::time::timeout(timeout, store.set(budget)).await
                    && !self.save_warned.swap(true, Ordering::Relaxed)
                {
                    write_line(&format!(
                        "panoptic: cannot save budget `{}`: {e}",
                        budget.name
                    ));
                }
            }
        }
        match tokio::time::timeout(timeout, store.list()).await {
            Ok(Ok(budgets)) => {
                *self.listed.write().unwrap_or_else(PoisonError::into_inner) = Some(budgets);
                true
            }
            _ => false,
        }
    }
}
