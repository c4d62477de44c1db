//! What a broker is started with, and the two callbacks a handle can give.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};
use panoptic_core::connect::MongoSettings;
use panoptic_core::prices::rates::Rates;

use crate::Alert;
use crate::define::Budget;

/// The clock budgets read: injectable, so a test can cross midnight
/// without waiting for it.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// A callback that receives each alert, once.
pub type AlertCallback = Arc<dyn Fn(&Alert) + Send + Sync>;

/// Settings of the broker.
pub struct BrokerSettings {
    /// How to reach MongoDB.
    pub mongo: MongoSettings,
    /// The budgets defined in code (saved to the database on first sync).
    pub budgets: Vec<Budget>,
    /// The handle's spool folder, where budgets keep what must outlive
    /// the process: the database's definitions, cached for when MongoDB
    /// does not answer, and spend it could not take yet.
    pub spool_dir: PathBuf,
    /// The clock periods are read from.
    pub clock: Clock,
    /// Receives each alert.
    pub on_alert: Option<AlertCallback>,
    /// Set once the handle's loggers exist.
    pub alert_logger: Arc<OnceLock<slog::Logger>>,
    /// What converts spend in another currency into a budget's; without
    /// a rate such spend is left out, and the budget says so.
    pub rates: Rates,
}
