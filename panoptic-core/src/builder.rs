//! Configuring a [`Panoptic`]: the builder's setters and `build`, which
//! starts the pipeline. Where each value comes from is `config`'s job.

use std::fmt;
use std::panic::RefUnwindSafe;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use slog::{Drain, Logger, Never};

use crate::budget_hook::{HookSettings, StartHook};
use crate::config::{Credentials, Given, redact_uri};
use crate::connect::{Durability, MongoSettings};
use crate::context::Context;
use crate::deliver::document::Owner;
use crate::deliver::pipeline::{Overflow, Pipeline};
use crate::deliver::writer::WriterSettings;
use crate::error::Error;
use crate::handle::{Inner, InstallGuard, Panoptic};
use crate::logging::drain::{BoxedDrain, Fanout, MongoDrain};
use crate::report::ErrorReporter;
use panoptic_spool::SpoolOptions;

impl Panoptic {
    /// Starts configuring an instance.
    pub fn builder() -> PanopticBuilder {
        PanopticBuilder::default()
    }
}

/// Steps of nice value the writer runs below its application by default.
const DEFAULT_WRITER_NICE: u8 = 10;

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
    given: Given,
    drains: Vec<BoxedDrain>,
    batch_size: Option<usize>,
    flush_interval: Option<Duration>,
    queue_capacity: Option<usize>,
    server_timeout: Option<Duration>,
    shutdown_deadline: Option<Duration>,
    retry_interval: Option<Duration>,
    write_ahead: bool,
    fsync: bool,
    overflow: Overflow,
    operation_timeout: Option<Duration>,
    rollup_settle: Option<Duration>,
    durability: Durability,
    spool_max_bytes: Option<u64>,
    spool_segment_bytes: Option<u64>,
    budget_hook: Option<StartHook>,
    start_records: Option<bool>,
    writer_nice: Option<u8>,
    call_hooks: Vec<Arc<dyn crate::call_hook::CallHook>>,
    exporters: Vec<Arc<dyn crate::export_hook::ExportHook>>,
}

impl fmt::Debug for PanopticBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PanopticBuilder")
            .field("username", &self.given.username)
            .field("project", &self.given.project)
            .field("env", &self.given.env)
            .field(
                "mongodb_uri",
                &self.given.mongodb_uri.as_deref().map(redact_uri),
            )
            .field("credentials", &self.given.credentials)
            .finish_non_exhaustive()
    }
}

impl PanopticBuilder {
    /// Turns budgets on with the engine `start` makes when the handle is
    /// built (`panoptic-budgets` provides it; the `panoptic` facade's
    /// `.budget(…)`, `.budgets_from_database()` and `PANOPTIC_BUDGETS` set it).
    /// Core asks it before each budgeted call and tells it each event's
    /// spend as the event is encoded.
    pub fn budget_hook(
        mut self,
        start: impl FnOnce(HookSettings) -> std::io::Result<Arc<dyn crate::budget_hook::BudgetHook>>
        + Send
        + 'static,
    ) -> Self {
        self.budget_hook = Some(Box::new(start));
        self
    }

    /// Every `#[billable]` call writes a `billing` start record as it
    /// begins (as the `start_record` key asks for one function), carrying
    /// the call id its final event carries: a call whose process dies
    /// shows in `panoptic report` as an open call. One more small event
    /// per call, still off the caller's path. A function opts out with
    /// `start_record = false`. Default: off, or `PANOPTIC_START_RECORDS`
    /// (`true`/`1`).
    pub fn start_records(mut self, on: bool) -> Self {
        self.start_records = Some(on);
        self
    }

    /// Tells `hook` of every `#[billable]` call as it ends, on the
    /// caller's thread (`panoptic-tracing` makes each call a `tracing`
    /// event with one). Hooks run in the order given. Without one, a call
    /// pays nothing for them.
    pub fn call_hook(mut self, hook: Arc<dyn crate::call_hook::CallHook>) -> Self {
        self.call_hooks.push(hook);
        self
    }

    /// Hands each event, priced, to `exporter` as the writer encodes it
    /// (`panoptic-tracing`'s OpenTelemetry export). MongoDB stays the
    /// ledger: an exporter that fails loses nothing there.
    pub fn export_hook(mut self, exporter: Arc<dyn crate::export_hook::ExportHook>) -> Self {
        self.exporters.push(exporter);
        self
    }

    /// Who the events belong to (required; the collection is
    /// `{provider}_{username}`).
    pub fn username(mut self, username: impl Into<String>) -> Self {
        self.given.username = Some(username.into());
        self
    }

    /// The project id stored as `projectId`.
    pub fn project(mut self, project: impl Into<String>) -> Self {
        self.given.project = Some(project.into());
        self
    }

    /// The environment: `prod`, `dev`, `staging` (`production` and
    /// `development` are mapped), or any name, sanitized.
    pub fn env(mut self, env: impl Into<String>) -> Self {
        self.given.env = Some(env.into());
        self
    }

    /// The MongoDB connection string.
    pub fn mongodb_uri(mut self, uri: impl Into<String>) -> Self {
        self.given.mongodb_uri = Some(uri.into());
        self
    }

    /// MongoDB credentials, when they are not in the URI.
    pub fn credentials(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.given.credentials = Some(Credentials {
            user: user.into(),
            password: password.into(),
        });
        self
    }

    /// Lowest slog level passed to the drains added with
    /// [`drain`](Self::drain) (default `info`). Billing records reach
    /// MongoDB whatever the level: it filters diagnostics only.
    pub fn log_level(mut self, level: slog::Level) -> Self {
        self.given.level = Some(level);
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

    /// Longest one MongoDB operation (an insert, a ping, creating indexes)
    /// may take before the writer gives up on it and spools its events
    /// (default 10 s). A server that froze cannot hold the writer longer.
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = Some(timeout);
        self
    }

    /// How soon the hour being written may be rolled up after this
    /// writer's last mark of it (default 60 s, or
    /// `PANOPTIC_ROLLUP_SETTLE_SECONDS`; at least 1 s): shorter puts a
    /// quiet collection's open hour in its rollup sooner, and costs this
    /// writer one more small round trip per collection and half-period
    /// (see `panoptic_core::rollup_marks`).
    pub fn rollup_settle(mut self, settle: Duration) -> Self {
        self.rollup_settle = Some(settle);
        self
    }

    /// What MongoDB must have done before a write counts as delivered
    /// (default [`Durability::Journaled`]; see there what each choice
    /// risks). A write concern in the URI (`w=…`, `journal=…`) wins: this
    /// applies only when the URI names none.
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Cap on the spool's size on disk (default 1 GiB). At the cap, or when
    /// the disk is full, events that MongoDB cannot take either are dropped,
    /// counted in `Stats::dropped` and reported on stderr; once replayed
    /// segments free space, events are spooled again.
    pub fn spool_max_bytes(mut self, bytes: u64) -> Self {
        self.spool_max_bytes = Some(bytes);
        self
    }

    /// Size at which a spool segment is closed and the next one begun
    /// (default 8 MiB). A segment is replayed, and deleted, whole: smaller
    /// ones free disk sooner after an outage, at the cost of more files.
    pub fn spool_segment_bytes(mut self, bytes: u64) -> Self {
        self.spool_segment_bytes = Some(bytes);
        self
    }

    /// How long dropping the guard (or `flush`) may wait (default 10 s).
    /// Dropping the guard returns within this plus one second, whatever
    /// MongoDB does: what it has not acknowledged by then is in the spool.
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
    pub fn spool_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.given.spool_dir = Some(dir.into());
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

    /// How far below the application's threads the writer thread runs, in
    /// steps of its nice value on Linux (default 10; more than 19 is taken
    /// as 19; elsewhere ignored). A lower-priority writer stores events
    /// when a core is free instead of taking one from the calls it bills:
    /// on a busy machine events wait longer in the queue (its overflow
    /// policy still keeps them), and calls wait less for a core the writer
    /// holds. 0 runs it at the priority of the thread that builds the
    /// instance.
    pub fn writer_nice(mut self, steps: u8) -> Self {
        self.writer_nice = Some(steps);
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
        let config = self.given.resolve()?;
        crate::clock::calibrate();
        let reporter = Arc::new(ErrorReporter::new(Duration::from_secs(30), config.secrets));
        let owner = Arc::new(Owner::new(Context {
            username: config.username.clone(),
            project_id: config.project_id.clone(),
            env: config.env.clone(),
            ..Context::default()
        }));
        let settings = WriterSettings {
            mongo: MongoSettings::new(config.uri)
                .with_credentials(config.credentials)
                .server_timeout(self.server_timeout.unwrap_or(Duration::from_secs(2)))
                .operation_timeout(self.operation_timeout.unwrap_or(Duration::from_secs(10)))
                .durability(self.durability)
                .rollup_settle(
                    self.rollup_settle
                        .unwrap_or_else(crate::rollup_marks::settle),
                ),
            batch_size: self.batch_size.unwrap_or(500),
            // At least 1 ms: the writer sleeps this long between rounds.
            flush_interval: self
                .flush_interval
                .unwrap_or(Duration::from_millis(100))
                .max(Duration::from_millis(1)),
            queue_capacity: self.queue_capacity.unwrap_or(65_536),
            retry_interval: self.retry_interval.unwrap_or(Duration::from_millis(500)),
            spool_dir: config.spool_dir.clone(),
            spool: SpoolOptions {
                segment_bytes: self
                    .spool_segment_bytes
                    .unwrap_or(SpoolOptions::default().segment_bytes),
                fsync: self.fsync,
                max_bytes: Some(self.spool_max_bytes.unwrap_or(1 << 30)),
            },
            write_ahead: self.write_ahead,
            nice: self.writer_nice.unwrap_or(DEFAULT_WRITER_NICE).min(19),
            owner,
            broker: None,
            exporters: self.exporters.into_boxed_slice(),
        };
        let alert_logger = Arc::new(std::sync::OnceLock::new());
        let broker = match self.budget_hook {
            Some(start) => Some(
                start(HookSettings {
                    mongo: settings.mongo.clone(),
                    logger: Arc::clone(&alert_logger),
                    spool_dir: settings.spool_dir.clone(),
                })
                .map_err(Error::Writer)?,
            ),
            None => None,
        };
        let mut settings = settings;
        settings.broker = broker.clone();
        let pipeline =
            Arc::new(Pipeline::start(settings, self.overflow, reporter).map_err(Error::Writer)?);
        let direct = self.drains.is_empty();
        let fanout = Fanout {
            mongo: MongoDrain::new(Arc::clone(&pipeline)),
            others: self.drains,
            level: config.level,
        };
        let root = Logger::root(fanout, slog::o!());
        let budget_context = Arc::new(Context {
            provider: panoptic_catalog::Provider::UserDefined.as_str().to_owned(),
            service: "Budgets".to_owned(),
            username: config.username.clone(),
            project_id: config.project_id.clone(),
            env: config.env.clone(),
        });
        let _ = alert_logger.set(root.new(budget_context.owned_kv()));
        let id = Inner::next_id();
        let start_records = self
            .start_records
            .or_else(|| {
                crate::config::lookup(crate::config::vars::PANOPTIC_START_RECORDS)
                    .map(|v| crate::config::parse_flag(&v))
            })
            .unwrap_or(false);
        if start_records {
            crate::record::start_records::by_default(id);
        }
        Ok(Panoptic::from_inner(Inner {
            id,
            children: Default::default(),
            username: config.username,
            project_id: config.project_id,
            env: config.env,
            uri_redacted: config.uri_redacted,
            spool_dir: config.spool_dir,
            root,
            pipeline,
            direct,
            broker,
            call_hooks: self.call_hooks.into_boxed_slice(),
            shutdown_deadline: self.shutdown_deadline.unwrap_or(Duration::from_secs(10)),
        }))
    }

    /// Builds the instance and installs it globally; see [`Panoptic::install`].
    pub fn install(self) -> Result<InstallGuard, Error> {
        Ok(self.build()?.install())
    }
}
