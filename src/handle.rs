//! The facade's handle: core's [`panoptic_core::Panoptic`] (every method
//! of it, through `Deref`) with the budgets that only the facade can see.

use std::fmt;
use std::ops::Deref;

use crate::budget::BudgetStatus;

/// A configured panoptic instance. Cheap to clone; every clone shares one
/// MongoDB client, one writer thread and one logger cache. Every method of
/// [`panoptic_core::Panoptic`] (`logger`, `flush`, `stats`, …) is reached
/// through `Deref`.
///
/// ```no_run
/// use panoptic::{Panoptic, Provider};
///
/// let panoptic = Panoptic::builder().username("john_doe").project("my-project").build()?;
/// let bq = panoptic.logger(Provider::Gcp, "BigQuery");
/// panoptic::invoice!(bq, "nightly_export"; "amount" => 0.42);
/// panoptic.flush();
/// # Ok::<(), panoptic::Error>(())
/// ```
#[derive(Clone)]
pub struct Panoptic {
    core: panoptic_core::Panoptic,
}

impl Panoptic {
    /// The state of every budget in the database now (spent, reserved,
    /// limit, forecast), after settling what this process has sent.
    /// `None` when budgets are off or MongoDB does not answer.
    pub fn budgets(&self) -> Option<Vec<BudgetStatus>> {
        panoptic_budgets::statuses(&self.core)
    }

    /// Makes this the global instance that `#[billable]` uses; the guard
    /// flushes and stops it when dropped. A second install replaces the
    /// first.
    pub fn install(self) -> InstallGuard {
        InstallGuard {
            core: self.core.clone().install(),
            panoptic: self,
        }
    }

    /// Core's handle.
    pub fn core(&self) -> &panoptic_core::Panoptic {
        &self.core
    }
}

impl From<panoptic_core::Panoptic> for Panoptic {
    fn from(core: panoptic_core::Panoptic) -> Panoptic {
        Panoptic { core }
    }
}

impl Deref for Panoptic {
    type Target = panoptic_core::Panoptic;
    fn deref(&self) -> &panoptic_core::Panoptic {
        &self.core
    }
}

impl fmt::Debug for Panoptic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.core.fmt(f)
    }
}

/// Returns the installed instance, if any.
///
/// ```no_run
/// let _guard = panoptic::Panoptic::builder().username("ann").install()?;
/// assert_eq!(panoptic::global().unwrap().username(), "ann");
/// # Ok::<(), panoptic::Error>(())
/// ```
pub fn global() -> Option<Panoptic> {
    panoptic_core::global().map(Panoptic::from)
}

/// Keeps an installed instance alive; dropping it uninstalls the instance,
/// writes every pending event (within the shutdown deadline) and stops the
/// writer.
#[must_use = "dropping the guard uninstalls panoptic at once"]
pub struct InstallGuard {
    core: panoptic_core::InstallGuard,
    panoptic: Panoptic,
}

impl InstallGuard {
    /// The installed instance.
    pub fn panoptic(&self) -> &Panoptic {
        &self.panoptic
    }
}

impl Deref for InstallGuard {
    type Target = Panoptic;
    fn deref(&self) -> &Panoptic {
        &self.panoptic
    }
}

impl fmt::Debug for InstallGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("InstallGuard").field(&self.core).finish()
    }
}
