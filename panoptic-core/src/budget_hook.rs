//! What core knows of budgets: the two hooks a budget engine implements
//! (asked before a budgeted call; told of spend as each event is encoded)
//! and the values that cross them. The engine itself (definitions, store,
//! broker, alerts) is `panoptic-budgets`; core never imports it.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

use rust_decimal::Decimal;

use crate::connect::MongoSettings;

/// A call refused because its budget could not cover the reservation
/// (or, with the budget's `FailurePolicy::FailClosed`, because MongoDB did not
/// answer). A function with `budget = "…"` returns it through
/// `From<BudgetExceeded>` into its own error type.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetExceeded {
    /// The budget's name.
    pub budget: String,
    /// Its period (`2026-11-27`, `2026-W48`, `2026-11`).
    pub period: String,
    /// Its limit.
    pub limit: Decimal,
    /// Spent plus reserved when the call asked.
    pub committed: Decimal,
    /// What the call asked to reserve.
    pub estimate: Decimal,
    /// Set when the budget could not be checked (MongoDB did not answer,
    /// or no rate converts the estimate) and the policy is fail-closed.
    /// (Boxed: a refusal stays small enough to return by value without
    /// the callers' `clippy::result_large_err`.)
    pub unavailable: Option<Box<str>>,
    /// True when the refusal is fail-closed's answer to a reservation
    /// that got no answer in time (or that MongoDB failed): the event
    /// says so (`metadata.budget_unanswered`).
    pub unanswered: bool,
}

impl fmt::Display for BudgetExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.unavailable {
            Some(why) => write!(
                f,
                "budget `{}` cannot be checked ({why}) and fails closed: call refused",
                self.budget
            ),
            None => write!(
                f,
                "budget `{}` for {} cannot cover {}: {} of {} committed; call refused",
                self.budget, self.period, self.estimate, self.committed, self.limit
            ),
        }
    }
}

impl std::error::Error for BudgetExceeded {}

/// A return type a refused call can be given back as: `Result<_, E>` with
/// `E: From<BudgetExceeded>`. Checked at compile time for `budget = "…"`.
#[diagnostic::on_unimplemented(
    message = "`#[billable(budget = …)]` needs the function to return `Result<_, E>` with `E: From<panoptic::BudgetExceeded>`; `{Self}` is not",
    label = "a refused call returns `Err(BudgetExceeded.into())` here"
)]
pub trait Refusable {
    /// The refusal as this return value.
    fn refused(refusal: BudgetExceeded) -> Self;
}

impl<T, E: From<BudgetExceeded>> Refusable for Result<T, E> {
    fn refused(refusal: BudgetExceeded) -> Self {
        Err(E::from(refusal))
    }
}

/// What a `#[billable(budget = "…", estimate = …)]` call asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Reservation {
    /// The budget's name.
    pub budget: String,
    /// What to hold until the call ends.
    pub estimate: Decimal,
    /// The estimate's currency (the call site's `currency =`).
    pub currency: String,
}

/// Spend to count against the budgets whose scope holds it.
#[derive(Debug, Clone)]
pub struct Spend {
    /// The provider (`gcp`).
    pub provider: String,
    /// The service.
    pub service: String,
    /// What was billed.
    pub resource: String,
    /// The handle's username.
    pub username: String,
    /// The end user, when the call named one.
    pub user: Option<String>,
    /// The canonical environment.
    pub env: String,
    /// The call's tags.
    pub tags: Vec<String>,
    /// `None`: unpriced; a reserved call then settles at its estimate.
    pub amount: Option<Decimal>,
    /// The amount's currency (the event's `currency`).
    pub currency: String,
    /// The reservation the call held, if any.
    pub reserved: Option<Reserved>,
    /// Counts against this budget only (a settlement retried later).
    pub only: Option<String>,
}

/// A reservation held by a call in flight.
#[derive(Debug, Clone, PartialEq)]
pub struct Reserved {
    /// The budget's name.
    pub budget: String,
    /// The id the call's final event carries (`metadata.call_id`).
    pub call_id: String,
    /// What is held.
    pub estimate: Decimal,
    /// The estimate's currency (the call site's): what the call's own
    /// amount, settled against it, is in.
    pub currency: String,
    /// False when the reservation could not be made and the budget fails
    /// open (MongoDB did not answer, or the budget is unknown).
    pub held: bool,
    /// Set when the call settled it as it ended (its amount was known):
    /// the writer then leaves this budget alone.
    pub settled: bool,
    /// True when the reservation got no answer in time (or MongoDB
    /// failed it) and the budget fails open: the call runs holding
    /// nothing, and its event says so (`metadata.budget_unanswered`).
    pub unanswered: bool,
}

impl Spend {
    /// Whether a stored event is spend at all: a start record says a call
    /// began (its final event carries the spend), so budgets never see it.
    pub fn is_spend(document: &bson::RawDocument) -> bool {
        let start = document
            .get_document(crate::keys::METADATA)
            .ok()
            .and_then(|m| m.get_bool(crate::keys::metadata::START).ok());
        start != Some(true)
    }

    /// The spend of a stored event, with the reservation its call held.
    /// A record that names a `budget` and a `call_id` in its metadata (a
    /// client's invoice inside a budgeted call) settles that call's
    /// reservation at its amount.
    pub fn of(document: &bson::RawDocument, reserved: Option<Reserved>) -> Spend {
        use crate::keys::{self, metadata as meta};
        let text = |key: &str| document.get_str(key).unwrap_or_default().to_owned();
        let metadata = document.get_document(keys::METADATA).ok();
        let currency = text(keys::CURRENCY);
        let reserved = reserved.or_else(|| {
            let metadata = metadata?;
            if metadata.get_bool(meta::START).ok().unwrap_or(false) {
                return None;
            }
            Some(Reserved {
                budget: metadata.get_str("budget").ok()?.to_owned(),
                call_id: metadata.get_str(meta::CALL_ID).ok()?.to_owned(),
                estimate: Decimal::ZERO,
                currency: currency.clone(),
                held: true,
                settled: false,
                unanswered: false,
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
            currency,
            reserved,
            only: None,
        }
    }
}

/// An answer to a reservation, awaited by an async call.
pub type ReserveFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Reserved, BudgetExceeded>> + Send + 'a>>;

/// A budget engine, as core calls it. Every method returns promptly: a
/// reservation within the engine's own bound (its budget's policy decides
/// what an unanswered one means), the rest without waiting.
pub trait BudgetHook: Send + Sync + std::panic::RefUnwindSafe + 'static {
    /// Hook one, for a synchronous call: reserve before the body runs.
    fn reserve_blocking(&self, reservation: Reservation) -> Result<Reserved, BudgetExceeded>;
    /// Hook one, for an async call.
    fn reserve(&self, reservation: Reservation) -> ReserveFuture<'_>;
    /// A call that knew its amount as it ended settles its reservation now,
    /// freeing what it held beyond its amount.
    fn settle(&self, reserved: Reserved, amount: Decimal);
    /// Hook two: the spend of one event, as the writer encodes it.
    fn spend(&self, spend: Spend);
    /// Waits (bounded) until the spend told so far is counted.
    fn flush(&self);
    /// The engine itself, for its own crate to reach its richer API.
    fn as_any(&self) -> &dyn Any;
}

/// What a budget engine is started with, when the handle is built.
pub struct HookSettings {
    /// How to reach MongoDB: the handle's own settings.
    pub mongo: MongoSettings,
    /// The handle's logger for budget records (`user_defined`, service
    /// `Budgets`); set once the handle's loggers exist, just after the
    /// engine starts.
    pub logger: Arc<OnceLock<slog::Logger>>,
    /// The handle's spool folder: an engine keeps what must outlive the
    /// process beside the spool (budgets: their definitions, cached).
    pub spool_dir: std::path::PathBuf,
}

impl fmt::Debug for HookSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HookSettings").finish_non_exhaustive()
    }
}

/// Starts a budget engine for a handle being built.
pub type StartHook = Box<dyn FnOnce(HookSettings) -> std::io::Result<Arc<dyn BudgetHook>> + Send>;
