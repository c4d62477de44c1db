//! The budget definitions a handle knows, shared by the broker's two
//! sides: the spend loop and the reservation thread each read them, and
//! whichever reaches MongoDB first refreshes them for both. The caller of
//! a reservation reads them too, to apply a budget's policy itself when
//! no answer comes in time. Until the database's list is read, the copy
//! cached on disk by an earlier sync stands in for it (see
//! [`crate::cache`]), so a budget defined only in the database keeps its
//! policy while MongoDB does not answer.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};

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
    /// Where the list is cached on disk, and what was there at start.
    cache: Option<PathBuf>,
    cached: Option<(Vec<Budget>, DateTime<Utc>)>,
    cache_warned: AtomicBool,
    cache_write_warned: AtomicBool,
}

impl Known {
    pub(crate) fn new(in_code: Vec<Budget>, cache: Option<PathBuf>) -> Known {
        let cached = cache.as_deref().and_then(crate::cache::read);
        Known {
            in_code,
            listed: RwLock::new(None),
            save_warned: AtomicBool::new(false),
            cache,
            cached,
            cache_warned: AtomicBool::new(false),
            cache_write_warned: AtomicBool::new(false),
        }
    }

    /// The cached list, while the database's is not read yet; said once,
    /// with its age, when it is first used.
    fn cached(&self, listed: Option<&Vec<Budget>>) -> &[Budget] {
        match (&self.cached, listed) {
            (Some((budgets, saved)), None) => {
                if !self.cache_warned.swap(true, Ordering::Relaxed) {
                    let age = (Utc::now() - *saved).num_seconds().max(0);
                    write_line(&format!(
                        "panoptic: warning: MongoDB has not answered yet: budgets as cached at {} ({age} s old)",
                        saved.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    ));
                }
                budgets
            }
            _ => &[],
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
        // Defined in code first: the cache may hold an older definition.
        for budget in self.in_code.iter().chain(self.cached(listed.as_ref())) {
            if !all.iter().any(|b| b.name == budget.name) {
                all.push(budget.clone());
            }
        }
        all
    }

    /// Whether any known budget (the database's, those defined in code or
    /// cached) satisfies `test`.
    pub(crate) fn any(&self, test: impl Fn(&Budget) -> bool) -> bool {
        let listed = self.listed.read().unwrap_or_else(PoisonError::into_inner);
        listed
            .iter()
            .flatten()
            .chain(&self.in_code)
            .chain(self.cached(listed.as_ref()).iter())
            .any(test)
    }

    /// The budget named `name`, if known.
    pub(crate) fn get(&self, name: &str) -> Option<Budget> {
        let listed = self.listed.read().unwrap_or_else(PoisonError::into_inner);
        listed
            .iter()
            .flatten()
            .chain(&self.in_code)
            .chain(self.cached(listed.as_ref()).iter())
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
                if let Some(path) = &self.cache
                    && let Err(e) = crate::cache::write(path, &budgets, Utc::now())
                    && !self.cache_write_warned.swap(true, Ordering::Relaxed)
                {
                    write_line(&format!(
                        "panoptic: cannot cache budgets in {}: {e}",
                        path.display()
                    ));
                }
                *self.listed.write().unwrap_or_else(PoisonError::into_inner) = Some(budgets);
                true
            }
            _ => false,
        }
    }
}
