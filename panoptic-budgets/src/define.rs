//! What a budget is: a name, a scope, a period in a time zone, a limit and
//! a mode. Defined in code, in a TOML file (`PANOPTIC_BUDGETS`), or with
//! `panoptic budgets set`.

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// How long a reservation left by a process that died mid-call holds
/// money, unless the budget says otherwise.
pub const DEFAULT_RESERVATION_TTL: Duration = Duration::from_secs(15 * 60);

/// What a budget does when its limit is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Records spend only.
    Observe,
    /// Records and alerts.
    #[default]
    Warn,
    /// Alerts, and refuses calls that opted in with `budget = "…"` when
    /// their reservation does not fit.
    Enforce,
}

/// The period a budget's limit applies to, in its time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    /// A calendar day.
    Day,
    /// An ISO week (Monday to Sunday).
    Week,
    /// A calendar month.
    Month,
}

/// When MongoDB does not answer a reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FailurePolicy {
    /// The call runs; its spend is counted when MongoDB is back.
    #[default]
    FailOpen,
    /// The call is refused.
    FailClosed,
}

/// Which events count against a budget: every field given must match.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scope {
    /// `gcp`, `openai`, …
    pub provider: Option<String>,
    /// `BigQuery`, …
    pub service: Option<String>,
    /// A function's identifier or a resource name.
    pub resource: Option<String>,
    /// The username panoptic was given.
    pub username: Option<String>,
    /// The end user (`metadata.user`): a customer's budget.
    pub user: Option<String>,
    /// Canonical env.
    pub env: Option<String>,
    /// Every tag listed must be on the event.
    pub tags: Vec<String>,
}

impl Scope {
    /// True when the scope names nothing: every event counts.
    pub fn is_everything(&self) -> bool {
        self.to_string().is_empty()
    }
}

/// `provider=gcp service=BigQuery tag=nightly`: what the scope names, in
/// that order; empty when it names nothing.
///
/// ```
/// let scope = panoptic_budgets::Scope {
///     provider: Some("gcp".into()),
///     tags: vec!["nightly".into()],
///     ..Default::default()
/// };
/// assert_eq!(scope.to_string(), "provider=gcp tag=nightly");
/// ```
impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let named = [
            ("provider", &self.provider),
            ("service", &self.service),
            ("resource", &self.resource),
            ("username", &self.username),
            ("user", &self.user),
            ("env", &self.env),
        ];
        let parts = named
            .iter()
            .filter_map(|(key, value)| value.as_ref().map(|v| format!("{key}={v}")))
            .chain(self.tags.iter().map(|t| format!("tag={t}")));
        for (i, part) in parts.enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(&part)?;
        }
        Ok(())
    }
}

/// A budget.
///
/// ```
/// use panoptic_budgets::{Budget, Mode, Period};
/// let b = Budget::new("bq-daily", Period::Day, "25.00".parse().unwrap())
///     .provider("gcp")
///     .service("BigQuery")
///     .time_zone("America/Los_Angeles")
///     .mode(Mode::Enforce);
/// assert!(b.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    /// Unique name.
    pub name: String,
    /// Which events count.
    #[serde(default)]
    pub scope: Scope,
    /// Day, week or month.
    pub period: Period,
    /// IANA time zone of the period's boundaries (default UTC).
    #[serde(default = "utc")]
    pub time_zone: String,
    /// The limit, against list-price amounts.
    #[serde(with = "decimal_text")]
    pub limit: Decimal,
    /// ISO 4217 (default USD).
    #[serde(default = "usd")]
    pub currency: String,
    /// Observe, warn or enforce.
    #[serde(default)]
    pub mode: Mode,
    /// Alert thresholds in percent of the limit (default 50, 80, 100).
    #[serde(default = "default_alerts")]
    pub alerts: Vec<u32>,
    /// Also alert once when the forecast exceeds the limit.
    #[serde(default = "yes")]
    pub alert_on_forecast: bool,
    /// A URL that receives each alert as a JSON POST.
    #[serde(default)]
    pub webhook: Option<String>,
    /// Seconds a reservation of a dead process holds money.
    #[serde(default = "default_ttl")]
    pub reservation_ttl_secs: u64,
    /// When MongoDB does not answer a reservation.
    #[serde(default)]
    pub on_unavailable: FailurePolicy,
}

fn utc() -> String {
    "UTC".to_owned()
}
fn usd() -> String {
    "USD".to_owned()
}
fn yes() -> bool {
    true
}
fn default_alerts() -> Vec<u32> {
    vec![50, 80, 100]
}
fn default_ttl() -> u64 {
    DEFAULT_RESERVATION_TTL.as_secs()
}

/// A budget that is not valid, or a budget file that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BudgetError(pub String);

impl Budget {
    /// A budget in warn mode, UTC, USD, alerts at 50/80/100 %.
    pub fn new(name: impl Into<String>, period: Period, limit: Decimal) -> Budget {
        Budget {
            name: name.into(),
            scope: Scope::default(),
            period,
            time_zone: utc(),
            limit,
            currency: usd(),
            mode: Mode::default(),
            alerts: default_alerts(),
            alert_on_forecast: true,
            webhook: None,
            reservation_ttl_secs: default_ttl(),
            on_unavailable: FailurePolicy::default(),
        }
    }

    /// Only this provider's events.
    pub fn provider(mut self, provider: impl Into<String>) -> Budget {
        self.scope.provider = Some(provider.into());
        self
    }
    /// Only this service's events.
    pub fn service(mut self, service: impl Into<String>) -> Budget {
        self.scope.service = Some(service.into());
        self
    }
    /// Only this resource's events.
    pub fn resource(mut self, resource: impl Into<String>) -> Budget {
        self.scope.resource = Some(resource.into());
        self
    }
    /// Only this username's events.
    pub fn username(mut self, username: impl Into<String>) -> Budget {
        self.scope.username = Some(username.into());
        self
    }
    /// Only this end user's events (`metadata.user`).
    pub fn user(mut self, user: impl Into<String>) -> Budget {
        self.scope.user = Some(user.into());
        self
    }
    /// Only this env's events.
    pub fn env(mut self, env: impl Into<String>) -> Budget {
        self.scope.env = Some(env.into());
        self
    }
    /// Only events carrying this tag (repeatable).
    pub fn tag(mut self, tag: impl Into<String>) -> Budget {
        self.scope.tags.push(tag.into());
        self
    }
    /// The period's time zone (IANA name).
    pub fn time_zone(mut self, zone: impl Into<String>) -> Budget {
        self.time_zone = zone.into();
        self
    }
    /// Observe, warn or enforce.
    pub fn mode(mut self, mode: Mode) -> Budget {
        self.mode = mode;
        self
    }
    /// Alert thresholds in percent.
    pub fn alerts(mut self, percents: impl IntoIterator<Item = u32>) -> Budget {
        self.alerts = percents.into_iter().collect();
        self
    }
    /// A webhook for alerts.
    pub fn webhook(mut self, url: impl Into<String>) -> Budget {
        self.webhook = Some(url.into());
        self
    }
    /// How long a dead process's reservation holds money.
    pub fn reservation_ttl(mut self, ttl: Duration) -> Budget {
        self.reservation_ttl_secs = ttl.as_secs().max(1);
        self
    }
    /// When MongoDB does not answer.
    pub fn on_unavailable(mut self, policy: FailurePolicy) -> Budget {
        self.on_unavailable = policy;
        self
    }

    /// The period's time zone.
    pub fn zone(&self) -> Result<Tz, BudgetError> {
        Tz::from_str(&self.time_zone).map_err(|_| {
            BudgetError(format!(
                "budget `{}`: unknown time zone `{}` (an IANA name such as `UTC` or `America/Los_Angeles`)",
                self.name, self.time_zone
            ))
        })
    }

    /// Checks the name, the limit, the zone and the thresholds.
    pub fn validate(&self) -> Result<(), BudgetError> {
        let bad = |why: String| Err(BudgetError(format!("budget `{}`: {why}", self.name)));
        if self.name.trim().is_empty() || self.name.contains('|') {
            return Err(BudgetError(format!(
                "a budget needs a name without `|` (got `{}`)",
                self.name
            )));
        }
        if self.limit <= Decimal::ZERO {
            return bad(format!("the limit must be above zero (got {})", self.limit));
        }
        if let Some(p) = self.alerts.iter().find(|p| **p == 0 || **p > 1000) {
            return bad(format!(
                "alert thresholds are percents from 1 to 1000 (got {p})"
            ));
        }
        self.zone().map(|_| ())
    }

    /// Reads budgets from a TOML file of `[[budget]]` tables.
    pub fn from_file(path: &Path) -> Result<Vec<Budget>, BudgetError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| BudgetError(format!("cannot read {}: {e}", path.display())))?;
        Budget::from_toml(&text).map_err(|e| BudgetError(format!("{}: {}", path.display(), e.0)))
    }

    /// Parses `[[budget]]` tables.
    ///
    /// ```
    /// let budgets = panoptic_budgets::Budget::from_toml(r#"
    /// [[budget]]
    /// name = "openai-monthly"
    /// period = "month"
    /// limit = "200"
    /// mode = "enforce"
    /// scope = { provider = "openai" }
    /// "#).unwrap();
    /// assert_eq!(budgets[0].limit.to_string(), "200");
    /// ```
    pub fn from_toml(text: &str) -> Result<Vec<Budget>, BudgetError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct File {
            #[serde(default)]
            budget: Vec<Budget>,
        }
        let file: File = toml::from_str(text).map_err(|e| BudgetError(e.to_string()))?;
        for budget in &file.budget {
            budget.validate()?;
        }
        Ok(file.budget)
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Observe => "observe",
            Mode::Warn => "warn",
            Mode::Enforce => "enforce",
        })
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
        })
    }
}

/// Money as text in files, so it stays exact.
mod decimal_text {
    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&value.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        let text = String::deserialize(d)?;
        text.trim().parse().map_err(|_| {
            serde::de::Error::custom(format!(
                "`{text}` is not an amount; write it as text, e.g. \"25.00\""
            ))
        })
    }
}
