//! The `Panoptic` handle: configuration, the private base logger, cached
//! child loggers, the writer pipeline, and the global instance that
//! `#[billable]` uses.

use std::collections::HashMap;
use std::fmt;
use std::panic::RefUnwindSafe;
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use mongodb::options::ConnectionString;
use slog::{Drain, Logger, Never, OwnedKVList, Record, SendSyncRefUnwindSafeDrain};

use crate::call::{CachedLogger, CallContext, CallEvent, EVER_INSTALLED};
use crate::config::{self, Credentials, vars};
use crate::context::Context;
use crate::naming::canonical_env;
use crate::pipeline::{MongoDrain, Overflow, Pipeline, PipelineSettings};
use crate::report::ErrorReporter;
use crate::{Error, Stats};
use panoptic_catalog::Provider;

type BoxedDrain = Arc<dyn SendSyncRefUnwindSafeDrain<Ok = (), Err = Never>>;

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

pub(crate) struct Inner {
    /// Unique per instance, for call-site caches.
    id: u64,
    username: String,
    project_id: Option<String>,
    env: String,
    uri_redacted: String,
    spool_dir: std::path::PathBuf,
    root: Logger,
    children: [RwLock<HashMap<Box<str>, Logger>>; Provider::ALL.len()],
    pipeline: Arc<Pipeline>,
    shutdown_deadline: Duration,
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

impl Panoptic {
    /// Starts configuring an instance.
    pub fn builder() -> PanopticBuilder {
        PanopticBuilder::default()
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
        crate::naming::database_name(&self.inner.env)
    }

    /// The spool (to read what waits there).
    pub fn spool(&self) -> crate::Spool {
        crate::Spool::open(self.inner.spool_dir.clone())
    }

    /// The MongoDB URI with any password masked.
    pub fn mongodb_uri_redacted(&self) -> &str {
        &self.inner.uri_redacted
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
        EVER_INSTALLED.store(true, Ordering::Relaxed);
        GLOBAL.store(Some(Arc::clone(&self.inner)));
        InstallGuard { panoptic: self }
    }
}

impl Inner {
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
        let site = event.site;
        if let Some(logger) = logger {
            event.context = CallContext::FromLogger;
            return log_call(&logger, event);
        }
        let cached = site.cache.0.load();
        if let Some(cached) = cached.as_ref()
            && cached.handle == self.id
        {
            return log_call(&cached.logger, event);
        }
        let child = self.child(site.provider, site.service);
        site.cache.0.store(Some(Arc::new(CachedLogger {
            handle: self.id,
            logger: child.clone(),
        })));
        log_call(&child, event);
    }
}

/// Logs a finished call as a slog record; the MongoDB drain takes the event
/// through the handoff instead of reading the record's key-values.
fn log_call(logger: &Logger, event: CallEvent) {
    let site = event.site;
    let level = match event.outcome {
        crate::Outcome::Ok => slog::Level::Info,
        _ => slog::Level::Error,
    };
    let record_static = slog::RecordStatic {
        location: &site.location,
        level,
        tag: site.kind.as_str(),
    };
    let kv = event.clone();
    let message = format_args!("{}", site.names().resource);
    let record = Record::new(&record_static, &message, slog::BorrowedKV(&kv));
    crate::pipeline::log_with_handoff(&record, event, || logger.log(&record));
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
        let inner = &self.panoptic.inner;
        if !inner.pipeline.shutdown(inner.shutdown_deadline) {
            inner.pipeline.reporter.report(&format!(
                "shutdown deadline of {:?} passed; {} event(s) not written",
                inner.shutdown_deadline,
                self.panoptic.stats().pending()
            ));
        }
    }
}

impl fmt::Debug for InstallGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("InstallGuard").field(&self.panoptic).finish()
    }
}

/// Configures a [`Panoptic`]. Values not set here come from the environment
/// (`PANOPTIC_USERNAME`, `PANOPTIC_ENV` or `NODE_ENV`, `MONGODB_URI`,
/// `MONGODB_USER`, `MONGODB_PASSWORD`, `PANOPTIC_LOG_LEVEL`), then from a
/// `.env` file, then from defaults.
///
/// ```no_run
/// use std::time::Duration;
/// use panoptic_core::{Overflow, Panoptic};
///
/// let panoptic = Panoptic::builder()
///     .username("john_doe")
///     .project("my-project")
///     .env("production")                       // stored as "prod"
///     .mongodb_uri("mongodb://db.internal:27017/")
///     .credentials("billing", "secret")        // never printed
///     .batch_size(1_000)
///     .flush_interval(Duration::from_millis(250))
///     .queue_capacity(100_000)
///     .overflow(Overflow::Spill)
///     .spool_dir("/var/lib/myapp/panoptic-spool")
///     .write_ahead(true)
///     .shutdown_deadline(Duration::from_secs(5))
///     .drain(slog::Discard)                    // e.g. slog-term to stderr
///     .build()?;
/// assert_eq!(panoptic.env(), "prod");
/// # Ok::<(), panoptic_core::Error>(())
/// ```
#[must_use]
#[derive(Default)]
pub struct PanopticBuilder {
    username: Option<String>,
    project: Option<String>,
    env: Option<String>,
    mongodb_uri: Option<String>,
    credentials: Option<Credentials>,
    level: Option<slog::Level>,
    drains: Vec<BoxedDrain>,
    batch_size: Option<usize>,
    flush_interval: Option<Duration>,
    queue_capacity: Option<usize>,
    server_timeout: Option<Duration>,
    shutdown_deadline: Option<Duration>,
    retry_interval: Option<Duration>,
    spool_dir: Option<std::path::PathBuf>,
    write_ahead: bool,
    fsync: bool,
    overflow: Overflow,
}

impl fmt::Debug for PanopticBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PanopticBuilder")
            .field("username", &self.username)
            .field("project", &self.project)
            .field("env", &self.env)
            .field(
                "mongodb_uri",
                &self.mongodb_uri.as_deref().map(config::redact_uri),
            )
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

impl PanopticBuilder {
    /// Who the events belong to (required; the collection is
    /// `{provider}_{username}`).
    pub fn username(mut self, username: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self
    }

    /// The project id stored as `projectId`.
    pub fn project(mut self, project: impl Into<String>) -> Self {
        self.project = Some(project.into());
        self
    }

    /// The environment: `prod`, `dev`, `staging` (`production` and
    /// `development` are mapped), or any name, sanitized.
    pub fn env(mut self, env: impl Into<String>) -> Self {
        self.env = Some(env.into());
        self
    }

    /// The MongoDB connection string.
    pub fn mongodb_uri(mut self, uri: impl Into<String>) -> Self {
        self.mongodb_uri = Some(uri.into());
        self
    }

    /// MongoDB credentials, when they are not in the URI.
    pub fn credentials(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.credentials = Some(Credentials {
            user: user.into(),
            password: password.into(),
        });
        self
    }

    /// Lowest slog level passed to the drains (default `info`).
    pub fn log_level(mut self, level: slog::Level) -> Self {
        self.level = Some(level);
        self
    }

    /// Adds a drain beside the MongoDB one (e.g. slog-term to stderr). It
    /// sees every record of every child logger, billing or not.
    pub fn drain<D>(mut self, drain: D) -> Self
    where
        D: Drain<Ok = (), Err = Never> + Send + Sync + RefUnwindSafe + 'static,
    {
        self.drains.push(Arc::new(drain));
        self
    }

    /// Events per `insert_many` (default 500).
    pub fn batch_size(mut self, size: usize) -> Self {
        self.batch_size = Some(size.max(1));
        self
    }

    /// Longest an event waits before its batch is written (default 100 ms).
    pub fn flush_interval(mut self, interval: Duration) -> Self {
        self.flush_interval = Some(interval);
        self
    }

    /// Events that may wait in memory (default 65 536); beyond that the
    /// [`overflow`](Self::overflow) policy applies.
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = Some(capacity.max(1));
        self
    }

    /// How long to look for a MongoDB server before a write fails (default 2 s).
    pub fn server_timeout(mut self, timeout: Duration) -> Self {
        self.server_timeout = Some(timeout);
        self
    }

    /// How long dropping the guard (or `flush`) may wait (default 10 s).
    pub fn shutdown_deadline(mut self, deadline: Duration) -> Self {
        self.shutdown_deadline = Some(deadline);
        self
    }

    /// How long to wait before asking MongoDB again after it failed; doubles
    /// on each failure up to 10 s (default 500 ms).
    pub fn retry_interval(mut self, interval: Duration) -> Self {
        self.retry_interval = Some(interval);
        self
    }

    /// Where events wait while MongoDB cannot take them (default
    /// `PANOPTIC_SPOOL_DIR`, else `./.panoptic/spool`). Segments left by an
    /// earlier process are delivered by the next one that uses the folder.
    pub fn spool_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.spool_dir = Some(dir.into());
        self
    }

    /// Write-ahead: append every batch to the spool before inserting it, so
    /// a crash loses at most the events still in the in-memory queue (not
    /// yet taken by the writer). Costs one buffered file append per batch;
    /// off by default, when a crash can also lose the batch being written
    /// (at most `batch_size` events, or one `flush_interval` of them).
    pub fn write_ahead(mut self, enabled: bool) -> Self {
        self.write_ahead = enabled;
        self
    }

    /// `fsync` each spool append, so spooled events survive a power loss,
    /// not only a process crash. Costs a disk flush per batch.
    pub fn fsync(mut self, enabled: bool) -> Self {
        self.fsync = enabled;
        self
    }

    /// What happens when the in-memory queue is full (default: spill to
    /// the spool).
    pub fn overflow(mut self, overflow: Overflow) -> Self {
        self.overflow = overflow;
        self
    }

    /// Builds the instance and starts its writer.
    ///
    /// ```
    /// let error = panoptic_core::Panoptic::builder().username("  ").build().unwrap_err();
    /// assert!(error.to_string().contains("username"));
    /// ```
    pub fn build(self) -> Result<Panoptic, Error> {
        let username = self
            .username
            .or_else(|| config::lookup(vars::PANOPTIC_USERNAME))
            .filter(|u| !u.trim().is_empty())
            .ok_or(Error::MissingUsername)?;
        let project_id = self
            .project
            .or_else(|| config::lookup(vars::PANOPTIC_PROJECT))
            .filter(|p| !p.trim().is_empty());
        let env = canonical_env(
            &self
                .env
                .or_else(|| config::lookup(vars::PANOPTIC_ENV))
                .or_else(|| config::lookup(vars::NODE_ENV))
                .unwrap_or_else(|| "dev".to_owned()),
        );
        let uri = self
            .mongodb_uri
            .or_else(|| config::lookup(vars::MONGODB_URI))
            .unwrap_or_else(|| config::DEFAULT_MONGODB_URI.to_owned());
        let credentials = self.credentials.or_else(|| {
            let user = config::lookup(vars::MONGODB_USER)?;
            let password = config::lookup(vars::MONGODB_PASSWORD).unwrap_or_default();
            Some(Credentials { user, password })
        });
        let level = match self.level {
            Some(level) => level,
            None => match config::lookup(vars::PANOPTIC_LOG_LEVEL) {
                Some(name) => config::parse_level(&name).ok_or(Error::InvalidLogLevel(name))?,
                None => slog::Level::Info,
            },
        };
        let uri_redacted = config::redact_uri(&uri);
        let mut secrets: Vec<String> = config::uri_password(&uri).into_iter().collect();
        secrets.extend(credentials.as_ref().map(|c| c.password.clone()));
        let connection = ConnectionString::parse(&uri).map_err(|error| Error::InvalidMongoUri {
            uri: uri_redacted.clone(),
            reason: secrets
                .iter()
                .fold(error.to_string(), |m, s| m.replace(s.as_str(), "*****")),
        })?;
        let reporter = Arc::new(ErrorReporter::new(Duration::from_secs(30), secrets));
        let settings = PipelineSettings {
            uri: connection,
            credentials,
            batch_size: self.batch_size.unwrap_or(500),
            // At least 1 ms: the writer sleeps this long between rounds.
            flush_interval: self
                .flush_interval
                .unwrap_or(Duration::from_millis(100))
                .max(Duration::from_millis(1)),
            queue_capacity: self.queue_capacity.unwrap_or(65_536),
            server_timeout: self.server_timeout.unwrap_or(Duration::from_secs(2)),
            retry_interval: self.retry_interval.unwrap_or(Duration::from_millis(500)),
            spool_dir: self
                .spool_dir
                .or_else(|| config::lookup(vars::PANOPTIC_SPOOL_DIR).map(Into::into))
                .unwrap_or_else(|| crate::spool::DEFAULT_SPOOL_DIR.into()),
            segment_bytes: 8 * 1024 * 1024,
            write_ahead: self.write_ahead,
            fsync: self.fsync,
            overflow: self.overflow,
            owner: Arc::new(crate::pipeline::Owner::new(Context {
                username: username.clone(),
                project_id: project_id.clone(),
                env: env.clone(),
                ..Context::default()
            })),
        };
        let spool_dir = settings.spool_dir.clone();
        let pipeline = Arc::new(Pipeline::start(settings, reporter).map_err(Error::Writer)?);
        let fanout = Fanout {
            mongo: MongoDrain::new(Arc::clone(&pipeline)),
            others: self.drains,
        };
        let root = Logger::root(
            slog::LevelFilter::new(fanout, level).ignore_res(),
            slog::o!(),
        );
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        Ok(Panoptic {
            inner: Arc::new(Inner {
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                username,
                project_id,
                env,
                uri_redacted,
                spool_dir,
                root,
                children: Default::default(),
                pipeline,
                shutdown_deadline: self.shutdown_deadline.unwrap_or(Duration::from_secs(10)),
            }),
        })
    }

    /// Builds the instance and installs it globally; see [`Panoptic::install`].
    pub fn install(self) -> Result<InstallGuard, Error> {
        Ok(self.build()?.install())
    }
}

/// The base logger's drain: the user's drains, then MongoDB.
struct Fanout {
    mongo: MongoDrain,
    others: Vec<BoxedDrain>,
}

impl Drain for Fanout {
    type Ok = ();
    type Err = Never;

    fn log(&self, record: &Record, values: &OwnedKVList) -> Result<(), Never> {
        for drain in &self.others {
            let _ = drain.log(record, values);
        }
        self.mongo.log(record, values)
    }
}
