//! Configuring a [`BigQuery`] client: the options only it has, their
//! defaults, and building it.

use std::sync::Arc;
use std::time::Duration;

use super::{BigQuery, Inner, TimeoutAction};
use crate::pricing::{Calculator, PricingModel};
use crate::rest::{ClientBuilder, Error};

/// Google's endpoint; tests point [`BigQueryBuilder::base_url`] at a fake.
pub const DEFAULT_BASE_URL: &str = "https://bigquery.googleapis.com/bigquery/v2/";

/// How the monthly free TiB is reflected in the amounts of billing events.
///
/// Events are always at list price now: the free tier belongs to a billing
/// account and a month, and is applied when aggregating
/// ([`Calculator::free_tier_credits`]). Kept so that old code builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FreeTierPolicy {
    /// Every query at list price.
    #[default]
    ListPrice,
    /// Formerly: a per-process count of the month's bytes. Now priced at
    /// list price like [`FreeTierPolicy::ListPrice`].
    #[deprecated(
        since = "0.2.0",
        note = "events are list price; apply the free tier with Calculator::free_tier_credits"
    )]
    InProcess,
}

/// Configures a [`BigQuery`] client: the settings every client takes
/// (`base_url`, `tokens`, `timeouts`, `retry`), and the BigQuery options
/// below.
pub type BigQueryBuilder = ClientBuilder<BigQueryOptions>;

/// The options only a [`BigQuery`] client has. Set them through
/// [`BigQueryBuilder`].
#[derive(Debug, Clone)]
pub struct BigQueryOptions {
    pub(super) project: String,
    pub(super) query_deadline: Duration,
    pub(super) poll_wait: Duration,
    pub(super) page_size: Option<u32>,
    pub(super) location: Option<String>,
    pub(super) logger: Option<slog::Logger>,
    calculator: Option<Calculator>,
    pub(super) pricing_model: PricingModel,
    pub(super) on_timeout: TimeoutAction,
    pub(super) env: Option<String>,
    pub(super) user: Option<String>,
    pub(super) billing_account: Option<String>,
}

impl BigQueryBuilder {
    /// How long a query may run before [`Error::Timeout`] (default 10 min).
    pub fn query_deadline(mut self, deadline: Duration) -> Self {
        self.options.query_deadline = deadline;
        self
    }

    /// How long BigQuery may hold each request waiting for the job
    /// (`timeoutMs`, default 10 s).
    pub fn poll_wait(mut self, wait: Duration) -> Self {
        self.options.poll_wait = wait;
        self
    }

    /// Rows per page (`maxResults`); BigQuery's default otherwise.
    pub fn page_size(mut self, rows: u32) -> Self {
        self.options.page_size = Some(rows);
        self
    }

    /// Default job location.
    pub fn location(mut self, location: impl Into<String>) -> Self {
        self.options.location = Some(location.into());
        self
    }

    /// The child logger billing events go through; by default the global
    /// panoptic instance's `gcp`/`BigQuery` logger, if one is installed.
    pub fn logger(mut self, logger: slog::Logger) -> Self {
        self.options.logger = Some(logger);
        self
    }

    /// Prices (default: the shipped table).
    pub fn calculator(mut self, calculator: Calculator) -> Self {
        self.options.calculator = Some(calculator);
        self
    }

    /// Formerly: how the free tier shows in event amounts. Events are
    /// list price whatever the policy.
    #[deprecated(
        since = "0.2.0",
        note = "events are list price; apply the free tier with Calculator::free_tier_credits"
    )]
    pub fn free_tier(self, _policy: FreeTierPolicy) -> Self {
        self
    }

    /// How the project's queries are billed: on demand (default) or by
    /// slot time under an edition.
    pub fn pricing_model(mut self, model: PricingModel) -> Self {
        self.options.pricing_model = model;
        self
    }

    /// What to do with a job that outlives the query deadline (default:
    /// cancel it).
    pub fn on_timeout(mut self, action: TimeoutAction) -> Self {
        self.options.on_timeout = action;
        self
    }

    /// The `panoptic_env` job label; by default the global panoptic
    /// instance's environment, if one is installed.
    pub fn env(mut self, env: impl Into<String>) -> Self {
        self.options.env = Some(env.into());
        self
    }

    /// The `panoptic_user` job label; by default the global panoptic
    /// instance's username, if one is installed.
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.options.user = Some(user.into());
        self
    }

    /// The Cloud Billing account the project bills to (by default
    /// `PANOPTIC_GCP_BILLING_ACCOUNT`, if set). Events carry it, so that
    /// reports and reconciliation take off the account's monthly free tier
    /// (BigQuery: the first TiB a Pacific month); events without it are
    /// left at list price.
    pub fn billing_account(mut self, account: impl Into<String>) -> Self {
        self.options.billing_account = Some(account.into());
        self
    }

    /// Builds the client; fails (never panics) when https is asked for on
    /// a machine without CA certificates.
    pub fn build(mut self) -> Result<BigQuery, Error> {
        let base = self.settings.base()?;
        if self.options.project.trim().is_empty() {
            return Err(Error::Invalid("empty project id".to_owned()));
        }
        let endpoint = self.settings.connect(base)?;
        // The shipped table is cloned only when no calculator was given.
        let calculator = self.options.calculator.take().unwrap_or_default();
        if self.options.billing_account.is_none() {
            self.options.billing_account =
                std::env::var(crate::bigquery::keys::BILLING_ACCOUNT_ENV)
                    .ok()
                    .map(|a| a.trim().to_owned())
                    .filter(|a| !a.is_empty());
        }
        Ok(BigQuery {
            inner: Arc::new(Inner {
                endpoint,
                options: self.options,
                calculator,
            }),
        })
    }
}

impl BigQuery {
    /// Starts configuring a client for `project`.
    pub fn builder(project: impl Into<String>) -> BigQueryBuilder {
        ClientBuilder::new(
            DEFAULT_BASE_URL,
            BigQueryOptions {
                project: project.into(),
                query_deadline: Duration::from_secs(600),
                poll_wait: Duration::from_secs(10),
                page_size: None,
                location: None,
                logger: None,
                calculator: None,
                pricing_model: PricingModel::default(),
                on_timeout: TimeoutAction::default(),
                env: None,
                user: None,
                billing_account: None,
            },
        )
    }
}
