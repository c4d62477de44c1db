//! The `Panoptic` handle: its child loggers, its pipeline, and the global
//! instance that `#[billable]` uses. The builder is in `builder`.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use chrono::Utc;
use panoptic_prices::Usage;
use slog::Logger;

use crate::call_event::{CallContext, CallEvent};
use crate::context::Context;
use crate::deliver::pipeline::Pipeline;
use crate::deliver::queue::Event;
use crate::event::{BillingEvent, Kind, Metadata, Outcome};
use crate::logging::drain::log_call;
use crate::naming::database_name;
use crate::site::CachedLogger;
use crate::stats::Stats;
use panoptic_catalog::Provider;
use panoptic_spool::Spool;

/// A configured panoptic instance. Cheap to clone; every clone shares one
/// MongoDB client, one writer thread and one logger cache.
///
/// ```no_run
/// use panoptic_core::{Panoptic, Provider};
///
/// let panoptic = Panoptic::builder().username("john_doe").project("my-project").build()?;
/// let bq = panoptic.logger(Provider::Gcp, "BigQuery");
/// panoptic_core::invoice!(bq, "nightly_export"; "amount" => 0.42);
/// panoptic.flush();
/// # Ok::<(), panoptic_core::Error>(())
/// ```
#[derive(Clone)]
pub struct Panoptic {
    inner: Arc<Inner>,
}

/// What a handle is made of; built by the builder.
pub(crate) struct Inner {
    /// Unique per instance, for call-site caches ([`Inner::next_id`]).
    pub id: u64,
    pub username: String,
    pub project_id: Option<String>,
    pub env: String,
    pub uri_redacted: String,
    pub spool_dir: PathBuf,
    pub root: Logger,
    /// Child loggers made so far, per provider and service.
    pub children: [RwLock<HashMap<Box<str>, Logger>>; Provider::ALL.len()],
    pub pipeline: Arc<Pipeline>,
    /// No drain besides MongoDB: a call through the handle's own loggers
    /// goes straight to the pipeline, without a slog record.
    pub direct: bool,
    /// Answers budget reservations, when budgets are on.
    pub broker: Option<Arc<dyn crate::budget_hook::BudgetHook>>,
    /// Told of each call as it ends (`panoptic-tracing`); usually none.
    pub call_hooks: Box<[Arc<dyn crate::call_hook::CallHook>]>,
    pub shutdown_deadline: Duration,
}

impl fmt::Debug for Panoptic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Panoptic")
            .field("username", &self.inner.username)
            .field("project_id", &self.inner.project_id)
            .field("env", &self.inner.env)
            .field("mongodb_uri", &self.inner.uri_redacted)
            .finish_non_exhaustive()
    }
}

/// Whether any `Panoptic` was ever installed, and whether a call was told
/// that none was: one byte, so that an annotated call with nothing
/// installed costs one relaxed load.
pub(crate) static INSTALL_STATE: AtomicU8 = AtomicU8::new(NEVER_INSTALLED);
/// No instance installed yet, no call warned about it.
pub(crate) const NEVER_INSTALLED: u8 = 0;
/// No instance installed yet; the warning was written.
pub(crate) const NEVER_INSTALLED_WARNED: u8 = 1;
/// An instance was installed at some point.
pub(crate) const INSTALLED: u8 = 2;

/// True once any `Panoptic` has been installed.
#[inline]
pub(crate) fn ever_installed() -> bool {
    INSTALL_STATE.load(Ordering::Relaxed) == INSTALLED
}

impl Panoptic {
    /// Wraps what the builder made.
    pub(crate) fn from_inner(inner: Inner) -> Panoptic {
        Panoptic {
            inner: Arc::new(inner),
        }
    }

    /// The child logger for `provider` and `service`, made once and cached.
    /// Its owned context carries provider, username, projectId, env and
    /// service; records logged through it with a billing kind
    /// ([`invoice!`](crate::invoice) and the others) become documents in
    /// `panoptic-{env}.{provider}_{username}`.
    ///
    /// ```no_run
    /// # let panoptic = panoptic_core::Panoptic::builder().username("ann").build().unwrap();
    /// use panoptic_core::Provider;
    /// let a = panoptic.logger(Provider::OpenAi, "Embeddings");
    /// panoptic_core::token_usage!(a, "embed_docs"; "quantity" => 1200, "unit" => "tokens");
    /// ```
    pub fn logger(&self, provider: Provider, service: &str) -> Logger {
        self.inner.child(provider, service)
    }

    /// How many child loggers are cached (one per provider and service).
    pub fn cached_loggers(&self) -> usize {
        self.inner
            .children
            .iter()
            .map(|cache| cache.read().map_or(0, |c| c.len()))
            .sum()
    }

    /// The username as given.
    pub fn username(&self) -> &str {
        &self.inner.username
    }

    /// The project id, if any.
    pub fn project_id(&self) -> Option<&str> {
        self.inner.project_id.as_deref()
    }

    /// The canonical environment (`prod`, `dev`, `staging`, or sanitized).
    pub fn env(&self) -> &str {
        &self.inner.env
    }

    /// The database events go to: `panoptic-{env}`.
    pub fn database_name(&self) -> String {
        database_name(&self.inner.env)
    }

    /// The spool (to read what waits there).
    pub fn spool(&self) -> Spool {
        Spool::open(self.inner.spool_dir.clone())
    }

    /// The MongoDB URI with any password masked.
    pub fn mongodb_uri_redacted(&self) -> &str {
        &self.inner.uri_redacted
    }

    /// Records what a call used, priced from the price book, as one event
    /// of `provider`'s `service` for `resource`: for usage known only
    /// after the call returned (a stream that ends later). The event goes
    /// to MongoDB directly, not through the slog drains.
    pub fn emit_usage(&self, usage: UsageEvent) {
        let pricing = crate::deliver::pricing::price_usage(
            usage.provider.as_str(),
            &usage.service,
            None,
            Some(&usage.usage),
            "",
            Utc::now().date_naive(),
        );
        if let Some(warning) = pricing.warning {
            crate::report::write_line(&format!("panoptic: warning: {warning}"));
        }
        let (quantity, unit) = pricing.quantity.unwrap_or((1.0, "call".to_owned()));
        let category = usage.provider.category_of(&usage.service);
        let owned = self.owned_event(
            (category, usage.provider.as_str(), usage.service),
            usage.resource.clone(),
            Kind::TokenUsage,
        );
        let event = BillingEvent {
            outcome: usage.outcome,
            quantity,
            unit,
            amount: pricing.amount,
            // A usage event has no amount of its own: the book's, or none.
            currency: pricing.currency.unwrap_or_else(|| "USD".to_owned()),
            metadata: Metadata {
                function_name: Some(usage.resource),
                duration_ms: Some(usage.duration.as_secs_f64() * 1000.0),
                user: usage.user,
                error: usage.error,
                extra: pricing.metadata.into_document(),
                ..Metadata::default()
            },
            ..owned
        };
        self.inner.pipeline.send(Event::Record(Box::new(event)));
    }

    /// Writes the start record of a call of `site` (kind `billing`,
    /// `metadata.start`, no amount: never summed as spend).
    pub(crate) fn emit_start(
        &self,
        site: &'static crate::site::CallSite,
        call_id: &str,
        estimate: Option<rust_decimal::Decimal>,
    ) {
        use crate::keys::metadata as meta;
        let names = site.names();
        let mut extra = bson::doc! { meta::START: true, meta::CALL_ID: call_id };
        if let Some(estimate) = estimate {
            extra.insert(meta::ESTIMATE, crate::money::to_decimal128(estimate));
        }
        let owned = self.owned_event(
            (
                site.category(),
                site.provider.as_str(),
                site.service.to_owned(),
            ),
            names.resource.clone(),
            Kind::Billing,
        );
        let event = BillingEvent {
            outcome: Outcome::Ok,
            quantity: 0.0,
            unit: site.unit.to_owned(),
            amount: None,
            currency: site.currency.to_owned(),
            metadata: Metadata {
                function_name: Some(names.function_name.clone()),
                qualified_name: Some(names.qualified_name.clone()),
                module_path: Some(site.location.module.to_owned()),
                extra,
                ..Metadata::default()
            },
            ..owned
        };
        self.inner.pipeline.send(Event::Record(Box::new(event)));
    }

    /// A new event of this handle, stamped now with its owner (project,
    /// env, username) and what it bills; the caller gives the rest.
    pub(crate) fn owned_event(
        &self,
        (category, provider, service): (crate::event::Category, &str, String),
        resource: String,
        kind: Kind,
    ) -> BillingEvent {
        BillingEvent {
            id: bson::oid::ObjectId::new(),
            ts: Utc::now(),
            project_id: self.inner.project_id.clone(),
            env: self.inner.env.clone(),
            username: self.inner.username.clone(),
            category,
            provider: provider.to_owned(),
            service,
            resource,
            kind,
            outcome: Outcome::Ok,
            quantity: 0.0,
            unit: String::new(),
            amount: None,
            currency: String::new(),
            metadata: Metadata::default(),
        }
    }

    /// Hands a finished event to the writer.
    pub(crate) fn send_event(&self, event: BillingEvent) {
        self.inner.pipeline.send(Event::Record(Box::new(event)));
    }

    /// The budget engine, when budgets are on (for `panoptic-budgets` to
    /// reach its own state through).
    pub fn budget_hook(&self) -> Option<&Arc<dyn crate::budget_hook::BudgetHook>> {
        self.inner.broker.as_ref()
    }

    /// What happened to the events so far.
    pub fn stats(&self) -> Stats {
        self.inner.pipeline.counters.snapshot()
    }

    /// Delivers every event emitted before this call to MongoDB, or to the
    /// spool when MongoDB cannot take it, waiting at most the shutdown
    /// deadline. Call it before `std::process::exit`, which skips
    /// destructors. Returns false if the deadline passed first.
    pub fn flush(&self) -> bool {
        self.inner.pipeline.flush(self.inner.shutdown_deadline)
    }

    /// Makes this the global instance that `#[billable]` uses; the guard
    /// flushes and stops it when dropped. A second install replaces the
    /// first.
    pub fn install(self) -> InstallGuard {
        INSTALL_STATE.store(INSTALLED, Ordering::Relaxed);
        GLOBAL.store(Some(Arc::clone(&self.inner)));
        InstallGuard { panoptic: self }
    }
}

impl Inner {
    /// A new instance id.
    pub fn next_id() -> u64 {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        NEXT_ID.fetch_add(1, Ordering::Relaxed)
    }

    /// The child logger of `provider` and `service`, made once.
    fn child(&self, provider: Provider, service: &str) -> Logger {
        let cache = &self.children[provider.index()];
        if let Ok(children) = cache.read()
            && let Some(child) = children.get(service)
        {
            return child.clone();
        }
        let mut children = cache
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        children
            .entry(service.into())
            .or_insert_with(|| {
                let context = Arc::new(Context {
                    provider: provider.as_str().to_owned(),
                    service: service.to_owned(),
                    username: self.username.clone(),
                    project_id: self.project_id.clone(),
                    env: self.env.clone(),
                });
                self.root.new(context.owned_kv())
            })
            .clone()
    }

    /// Sends a finished call through the site's cached child logger (or
    /// the given `logger`), handing the event itself to the MongoDB drain.
    pub(crate) fn emit_call(&self, mut event: CallEvent, logger: Option<Logger>) {
        for hook in &self.call_hooks {
            if let Some(notes) = hook.call_ended(&crate::call_hook::EndedCall::new(&event)) {
                event.notes.get_or_insert_with(Box::default).extend(notes);
            }
        }
        let site = event.site;
        if let Some(logger) = logger {
            event.context = CallContext::FromLogger;
            return log_call(&logger, event);
        }
        if self.direct {
            // What the child logger would do: MongoDB is its only drain,
            // and it takes the event itself.
            return self.pipeline.send(Event::Call(event));
        }
        let cached = site.cache.logger.load();
        if let Some(cached) = cached.as_ref()
            && cached.handle == self.id
        {
            return log_call(&cached.logger, event);
        }
        let child = self.child(site.provider, site.service);
        site.cache.logger.store(Some(Arc::new(CachedLogger {
            handle: self.id,
            logger: child.clone(),
        })));
        log_call(&child, event);
    }
}

/// A usage known after its call returned, for [`Panoptic::emit_usage`].
#[derive(Debug, Clone)]
pub struct UsageEvent {
    /// Whose price book prices it.
    pub provider: Provider,
    /// The service (`ChatCompletions`).
    pub service: String,
    /// What is billed: usually the function that started the call.
    pub resource: String,
    /// What was used.
    pub usage: Usage,
    /// How the call ended (`cancelled` for a stream dropped early).
    pub outcome: Outcome,
    /// The error's text, when it ended in one.
    pub error: Option<String>,
    /// How long it ran.
    pub duration: std::time::Duration,
    /// The end user it was for.
    pub user: Option<String>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The last clone is gone: write what is pending and stop the thread.
        self.pipeline.shutdown(self.shutdown_deadline);
    }
}

/// Returns the installed instance, if any.
///
/// ```no_run
/// let _guard = panoptic_core::Panoptic::builder().username("ann").install()?;
/// assert_eq!(panoptic_core::global().unwrap().username(), "ann");
/// # Ok::<(), panoptic_core::Error>(())
/// ```
pub fn global() -> Option<Panoptic> {
    current()
}

static GLOBAL: ArcSwapOption<Inner> = ArcSwapOption::const_empty();

pub(crate) fn current() -> Option<Panoptic> {
    GLOBAL.load_full().map(|inner| Panoptic { inner })
}

/// Runs `f` with the installed instance, without touching its reference
/// count (the hot path of every annotated call).
pub(crate) fn with_current(f: impl FnOnce(&Inner)) {
    if let Some(inner) = GLOBAL.load().as_ref() {
        f(inner);
    }
}

/// Keeps an installed instance alive; dropping it uninstalls the instance,
/// writes every pending event (within the shutdown deadline) and stops the
/// writer.
///
/// ```no_run
/// fn main() -> Result<(), panoptic_core::Error> {
///     let guard = panoptic_core::Panoptic::builder().username("ann").install()?;
///     // … the application runs; #[billable] calls use the installed instance …
///     println!("{} events so far", guard.stats().emitted);
///     Ok(())
/// } // dropped here: pending events are delivered, or spooled
/// ```
#[must_use = "dropping the guard uninstalls panoptic at once"]
pub struct InstallGuard {
    panoptic: Panoptic,
}

impl InstallGuard {
    /// The installed instance.
    pub fn panoptic(&self) -> &Panoptic {
        &self.panoptic
    }
}

impl std::ops::Deref for InstallGuard {
    type Target = Panoptic;
    fn deref(&self) -> &Panoptic {
        &self.panoptic
    }
}

impl Drop for InstallGuard {
    fn drop(&mut self) {
        let mine = &self.panoptic.inner;
        GLOBAL.rcu(|current| match current {
            Some(installed) if Arc::ptr_eq(installed, mine) => None,
            other => other.clone(),
        });
        // Reports on stderr what is not in MongoDB; runs once per handle.
        mine.pipeline.shutdown(mine.shutdown_deadline);
    }
}

impl fmt::Debug for InstallGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("InstallGuard").field(&self.panoptic).finish()
    }
}
