//! One way to reach MongoDB, for the writer, budgets, the ledger and the
//! command line alike: the URI with its options, the credentials, the
//! timeouts, the application name the server logs, and what an insert
//! waits for. Errors come back as one short line.

use std::time::Duration;

use bson::doc;
use mongodb::Client;
use mongodb::error::{ErrorKind, WriteFailure};
use mongodb::options::{
    Acknowledgment, ClientOptions, ConnectionString, Credential, HostInfo, WriteConcern,
};

use crate::config::Credentials;

/// What MongoDB must have done before an insert counts as delivered, when
/// the URI names no write concern of its own (`w=…`, `journal=…`).
///
/// ```
/// use panoptic_core::{Durability, Panoptic};
/// let builder = Panoptic::builder().username("ann").durability(Durability::Majority);
/// assert_eq!(Durability::default(), Durability::Journaled);
/// # drop(builder);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `{w: 1, j: true}`: the server wrote the event to its journal before
    /// answering, so a crash of the server right after loses nothing. On a
    /// replica set, a failover can still roll back a write that only the
    /// old primary had.
    #[default]
    Journaled,
    /// `{w: "majority", j: true}`: a majority of a replica set has it in
    /// its journal; survives a failover. On a standalone server it is the
    /// same as `Journaled`.
    Majority,
    /// `{w: 1}`: the server accepted the event in memory. A server crash
    /// within its journal interval (100 ms by default) can lose events it
    /// acknowledged, and panoptic will not send them again.
    Acknowledged,
}

impl Durability {
    fn write_concern(self) -> WriteConcern {
        match self {
            Durability::Journaled => WriteConcern::builder()
                .w(Acknowledgment::Nodes(1))
                .journal(true)
                .build(),
            Durability::Majority => WriteConcern::builder()
                .w(Acknowledgment::Majority)
                .journal(true)
                .build(),
            Durability::Acknowledged => WriteConcern::builder().w(Acknowledgment::Nodes(1)).build(),
        }
    }
}

/// How to reach MongoDB.
///
/// ```
/// use std::time::Duration;
/// use panoptic_core::connect::MongoSettings;
///
/// let settings = MongoSettings::parse("mongodb://127.0.0.1:27017/")?
///     .timeout(Duration::from_secs(3))
///     .app_name("panoptic-cli");
/// # drop(settings);
/// # Ok::<(), String>(())
/// ```
#[derive(Clone)]
pub struct MongoSettings {
    pub(crate) uri: ConnectionString,
    pub(crate) credentials: Option<Credentials>,
    /// How long to look for a server.
    pub(crate) server_timeout: Duration,
    /// Longest any one operation (insert, index creation, ping) may take.
    pub(crate) operation_timeout: Duration,
    pub(crate) durability: Durability,
    pub(crate) app_name: String,
    /// The settle period this writer's rollup marks carry.
    pub(crate) rollup_settle: Duration,
    /// How long a connection (and the driver's heartbeat on one) may take;
    /// the server timeout unless set.
    pub(crate) connect_timeout: Option<Duration>,
}

impl MongoSettings {
    /// Settings for `uri`: 2 s to find a server, 10 s an operation,
    /// journaled inserts unless the URI says otherwise, app name `panoptic`.
    /// A URI that cannot be parsed is one line, with its password removed.
    pub fn parse(uri: &str) -> Result<MongoSettings, String> {
        let parsed = ConnectionString::parse(uri).map_err(|e| {
            format!(
                "invalid MongoDB URI {}: {}",
                crate::config::redact_uri(uri),
                crate::config::redact_secrets(uri, &describe(&e))
            )
        })?;
        Ok(MongoSettings::new(parsed))
    }

    pub(crate) fn new(uri: ConnectionString) -> MongoSettings {
        MongoSettings {
            uri,
            credentials: None,
            server_timeout: Duration::from_secs(2),
            operation_timeout: Duration::from_secs(10),
            durability: Durability::default(),
            app_name: "panoptic".to_owned(),
            rollup_settle: crate::rollup_marks::settle(),
            connect_timeout: None,
        }
    }

    /// How long to look for a server and how long one operation may take.
    pub fn timeout(mut self, timeout: Duration) -> MongoSettings {
        self.server_timeout = timeout;
        self.operation_timeout = timeout;
        self
    }

    /// How long to look for a server.
    pub fn server_timeout(mut self, timeout: Duration) -> MongoSettings {
        self.server_timeout = timeout;
        self
    }

    /// How long one operation may take (at least 1 ms).
    pub fn operation_timeout(mut self, timeout: Duration) -> MongoSettings {
        self.operation_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// The name the server logs for this client (unless the URI gives
    /// `appName`).
    pub fn app_name(mut self, name: impl Into<String>) -> MongoSettings {
        self.app_name = name.into();
        self
    }

    /// How long after this writer's last mark of a window it may be rolled
    /// up while its hour is still open (at least 1 s; see
    /// [`crate::rollup_marks`]).
    pub fn rollup_settle(mut self, settle: Duration) -> MongoSettings {
        self.rollup_settle = settle.max(Duration::from_secs(1));
        self
    }

    /// How long opening a connection, and the driver's heartbeat on its
    /// monitoring connection, may take (default: the server timeout). A
    /// heartbeat that times out clears the pool and fails the operations
    /// in flight, so a long batch job (a rollup rebuild, a scan) against a
    /// server busy with it wants more than a writer does.
    pub fn connect_timeout(mut self, timeout: Duration) -> MongoSettings {
        self.connect_timeout = Some(timeout.max(Duration::from_millis(1)));
        self
    }

    /// What an insert waits for when the URI names no write concern.
    pub fn durability(mut self, durability: Durability) -> MongoSettings {
        self.durability = durability;
        self
    }

    /// The user and password, when the URI has none.
    pub fn credentials(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.credentials = Some(Credentials {
            user: user.into(),
            password: password.into(),
        });
        self
    }

    pub(crate) fn with_credentials(mut self, credentials: Option<Credentials>) -> Self {
        self.credentials = credentials;
        self
    }

    /// The longest one operation may take.
    pub fn operation_limit(&self) -> Duration {
        self.operation_timeout
    }

    /// A client (no round trip yet: the driver connects when first used).
    pub async fn client(&self) -> Result<Client, String> {
        // Parsing may resolve DNS (`mongodb+srv`): bounded too.
        let uri = self.uri.clone();
        let parse = ClientOptions::parse(uri);
        let parsed = match tokio::time::timeout(self.server_timeout, parse).await {
            Ok(Ok(options)) => options,
            Ok(Err(error)) => return Err(describe(&error)),
            Err(_) => return Err("the MongoDB URI could not be resolved in time".to_owned()),
        };
        Client::with_options(self.options(parsed)).map_err(|e| describe(&e))
    }

    /// A client that answered a ping within the operation timeout. The
    /// error is one line that says what failed, where (the hosts) and what
    /// to try ([`unanswered`]), without the password.
    pub async fn ping(&self) -> Result<Client, String> {
        let client = match self.client().await {
            Ok(client) => client,
            Err(reason) => return Err(self.unanswered(&reason)),
        };
        let admin = client.database("admin");
        let ping = admin.run_command(doc! { "ping": 1 });
        match tokio::time::timeout(self.operation_timeout, ping).await {
            Ok(Ok(_)) => Ok(client),
            Ok(Err(error)) => Err(match error.kind.as_ref() {
                // It answered, and refused who we said we were.
                ErrorKind::Authentication { .. } => self.scrub(&format!(
                    "MongoDB at {} refused the login ({}); check the user and password \
                     in MONGODB_URI or --mongodb-uri",
                    self.hosts(),
                    one_line(&reason(&error, false))
                )),
                _ => self.unanswered(&reason(&error, false)),
            }),
            Err(_) => Err(self.unanswered(&format!(
                "no answer to a ping within {:?}",
                self.operation_timeout
            ))),
        }
    }

    /// Where these settings point: the URI's hosts, or the name a
    /// `mongodb+srv` URI resolves; never the user or password.
    pub fn hosts(&self) -> String {
        match &self.uri.host_info {
            HostInfo::HostIdentifiers(addresses) => addresses
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(","),
            HostInfo::DnsRecord(name) => name.clone(),
            // A kind of host a later driver adds: the URI's own text.
            _ => "the MongoDB URI's hosts".to_owned(),
        }
    }

    /// [`unanswered`] for these settings.
    fn unanswered(&self, reason: &str) -> String {
        self.scrub(&line(&self.hosts(), reason))
    }

    /// `message` without the password of the URI or of the credentials.
    fn scrub(&self, message: &str) -> String {
        let passwords: Vec<String> = [
            self.uri
                .credential
                .as_ref()
                .and_then(|c| c.password.clone()),
            self.credentials.as_ref().map(|c| c.password.clone()),
        ]
        .into_iter()
        .flatten()
        .collect();
        crate::config::scrub(message, &passwords)
    }

    /// The driver's options: the URI's write concern, app name and connect
    /// timeout where it gives them; the server timeout always ours (a
    /// writer must not wait 30 s, the driver's default, for a server).
    fn options(&self, mut options: ClientOptions) -> ClientOptions {
        options
            .app_name
            .get_or_insert_with(|| self.app_name.clone());
        options.server_selection_timeout = Some(self.server_timeout);
        options
            .connect_timeout
            .get_or_insert(self.connect_timeout.unwrap_or(self.server_timeout));
        options.write_concern = Some(self.write_concern(options.write_concern.take()));
        if let Some(credentials) = &self.credentials
            && options.credential.is_none()
        {
            options.credential = Some(
                Credential::builder()
                    .username(credentials.user.clone())
                    .password(credentials.password.clone())
                    .build(),
            );
        }
        options
    }

    /// The URI's write concern when it names `w` or `journal`; else the
    /// durability's, keeping a `wtimeoutMS` the URI gave.
    fn write_concern(&self, from_uri: Option<WriteConcern>) -> WriteConcern {
        match from_uri {
            Some(given) if given.w.is_some() || given.journal.is_some() => given,
            Some(given) => {
                let mut ours = self.durability.write_concern();
                ours.w_timeout = given.w_timeout;
                ours
            }
            None => self.durability.write_concern(),
        }
    }
}

/// What to try when MongoDB does not answer: the last part of every
/// [`unanswered`] line.
pub const WHAT_TO_TRY: &str = "is it running? check MONGODB_URI or --mongodb-uri";

/// Where a URI points, for messages: its hosts (`db1:27017,db2:27017`, or
/// the name a `mongodb+srv` URI resolves), without the user, password,
/// database or options.
///
/// ```
/// use panoptic_core::connect::hosts;
/// assert_eq!(hosts("mongodb://ann:s3cret@db1:27017,db2/x?w=1"), "db1:27017,db2");
/// assert_eq!(hosts("mongodb+srv://cluster0.example.net/"), "cluster0.example.net");
/// ```
pub fn hosts(uri: &str) -> String {
    let rest = uri.split_once("://").map_or(uri, |(_, rest)| rest);
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..end];
    // A password may hold an `@`: the hosts follow the last one.
    let hosts = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if hosts.is_empty() {
        "(no host)".to_owned()
    } else {
        hosts.to_owned()
    }
}

/// The one line for MongoDB that could not be reached, used by every
/// command and by [`MongoSettings::ping`]: what failed, where (the hosts,
/// never the password), and what to try.
///
/// ```
/// use panoptic_core::connect::unanswered;
/// assert_eq!(
///     unanswered("mongodb://ann:s3cret@db:27017/", "connection refused"),
///     "MongoDB at db:27017 did not answer (connection refused); \
///      is it running? check MONGODB_URI or --mongodb-uri"
/// );
/// ```
pub fn unanswered(uri: &str, reason: &str) -> String {
    crate::config::redact_secrets(uri, &line(&hosts(uri), reason))
}

/// `MongoDB at HOSTS did not answer (REASON); WHAT_TO_TRY`, on one line.
pub(crate) fn line(hosts: &str, reason: &str) -> String {
    let reason = one_line(reason.trim());
    format!("MongoDB at {hosts} did not answer ({reason}); {WHAT_TO_TRY}")
}

/// One short line for a driver error: its Display wraps the kind in
/// `Kind: …, labels: …` and carries debug dumps of nested errors (a
/// server-selection timeout prints the whole topology), too much for a
/// log line or a terminal. A server-selection error names each server
/// and why it did not answer.
pub fn describe(error: &mongodb::error::Error) -> String {
    one_line(&reason(error, true))
}

/// What went wrong, from the error's kind; `addresses`: name the servers of
/// a server-selection error (a message that names its hosts already need
/// not).
fn reason(error: &mongodb::error::Error, addresses: bool) -> String {
    match error.kind.as_ref() {
        ErrorKind::Authentication { message, .. } => format!("authentication failed: {message}"),
        ErrorKind::ServerSelection { message, .. } => server_selection(message, addresses),
        ErrorKind::Io(e) => format!("I/O error: {e}"),
        ErrorKind::Command(e) => format!("{} ({}): {}", e.code_name, e.code, e.message),
        ErrorKind::Write(WriteFailure::WriteError(e)) => format!(
            "write refused ({}): {}",
            e.code_name.clone().unwrap_or_else(|| e.code.to_string()),
            e.message
        ),
        ErrorKind::Write(WriteFailure::WriteConcernError(e)) => {
            format!("write concern failed ({}): {}", e.code_name, e.message)
        }
        ErrorKind::InsertMany(e) => match (&e.write_errors, &e.write_concern_error) {
            (Some(errors), _) if !errors.is_empty() => format!(
                "{} insert(s) refused, the first ({}): {}",
                errors.len(),
                errors[0]
                    .code_name
                    .clone()
                    .unwrap_or_else(|| errors[0].code.to_string()),
                errors[0].message
            ),
            (_, Some(e)) => format!("write concern failed ({}): {}", e.code_name, e.message),
            _ => "insert failed".to_owned(),
        },
        ErrorKind::InvalidArgument { message, .. } => format!("invalid argument: {message}"),
        ErrorKind::DnsResolve { message, .. } => format!("DNS resolution failed: {message}"),
        // The kind's own text, without the `Kind: …, labels: …` wrapper.
        other => other.to_string(),
    }
}

/// A server-selection timeout without its topology dump: each server's
/// error (`127.0.0.1:1: I/O error: Connection refused`), else the
/// message's first sentence.
///
/// The driver writes `Server selection timeout: No available servers.
/// Topology: { Type: …, Servers: [ { Address: HOST:PORT, Type: …, Error:
/// Kind: KIND, labels: {} }, … ] }`; read loosely, so that a driver that
/// words it otherwise still gives its first sentence.
fn server_selection(message: &str, addresses: bool) -> String {
    let (head, topology) = match message.split_once("Topology:") {
        Some((head, topology)) => (head, topology),
        None => (message, ""),
    };
    let head = head.trim().trim_end_matches('.');
    let mut why: Vec<String> = Vec::new();
    for server in topology.split("{ Address: ").skip(1) {
        let address = server.split([',', ' ']).next().unwrap_or_default();
        let Some((_, error)) = server.split_once(", Error: ") else {
            continue;
        };
        let error = error.trim_start_matches("Kind: ");
        let error = error
            .split_once(", labels:")
            .map_or(error, |(error, _)| error)
            .trim_end_matches([' ', '}', ']']);
        let item = if addresses {
            format!("{address}: {error}")
        } else {
            error.to_owned()
        };
        if !why.contains(&item) {
            why.push(item);
        }
    }
    match (why.is_empty(), addresses) {
        (false, _) => why.join("; "),
        (true, true) => format!("no server answered: {head}"),
        (true, false) => head.to_owned(),
    }
}

/// The first line of `text`, any topology dump cut off, at most 300
/// characters.
fn one_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    let line = match line.find(" Topology: ") {
        Some(cut) => line[..cut].trim_end_matches(['.', ' ']),
        None => line,
    };
    const LIMIT: usize = 300;
    match line.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_owned(),
    }
}

#[cfg(test)]
mod tests;
