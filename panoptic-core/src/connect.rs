//! One way to reach MongoDB, for the writer, budgets, the ledger and the
//! command line alike: the URI with its options, the credentials, the
//! timeouts, the application name the server logs, and what an insert
//! waits for. Errors come back as one short line.

use std::time::Duration;

use bson::doc;
use mongodb::Client;
use mongodb::error::ErrorKind;
use mongodb::options::{Acknowledgment, ClientOptions, ConnectionString, Credential, WriteConcern};

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

    /// A client that answered a ping within the operation timeout.
    pub async fn ping(&self) -> Result<Client, String> {
        let client = self.client().await?;
        let admin = client.database("admin");
        let ping = admin.run_command(doc! { "ping": 1 });
        match tokio::time::timeout(self.operation_timeout, ping).await {
            Ok(Ok(_)) => Ok(client),
            Ok(Err(error)) => Err(describe(&error)),
            Err(_) => Err(format!(
                "no answer to a ping within {:?}",
                self.operation_timeout
            )),
        }
    }

    /// The driver's options: the URI's write concern, app name and connect
    /// timeout where it gives them; the server timeout always ours (a
    /// writer must not wait 30 s, the driver's default, for a server).
    fn options(&self, mut options: ClientOptions) -> ClientOptions {
        options
            .app_name
            .get_or_insert_with(|| self.app_name.clone());
        options.server_selection_timeout = Some(self.server_timeout);
        options.connect_timeout.get_or_insert(self.server_timeout);
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

/// One short line for a driver error: its Display carries debug dumps of
/// nested errors (a server-selection timeout prints the whole topology),
/// too much for a log line or a terminal.
pub fn describe(error: &mongodb::error::Error) -> String {
    let text = match error.kind.as_ref() {
        ErrorKind::Authentication { message, .. } => format!("authentication failed: {message}"),
        ErrorKind::ServerSelection { message, .. } => {
            let first = message.split(". ").next().unwrap_or(message);
            format!("no server answered: {first}")
        }
        ErrorKind::Io(e) => format!("I/O error: {e}"),
        ErrorKind::Command(e) => format!("{} ({}): {}", e.code_name, e.code, e.message),
        ErrorKind::InvalidArgument { message, .. } => format!("invalid argument: {message}"),
        ErrorKind::DnsResolve { message, .. } => format!("DNS resolution failed: {message}"),
        _ => error.to_string(),
    };
    let line = text.lines().next().unwrap_or_default();
    const LIMIT: usize = 300;
    match line.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_owned(),
    }
}

#[cfg(test)]
mod tests;
