//! The one way the command reaches MongoDB: the library's
//! [`MongoSettings`] made from [`Global`], so every subcommand has the same
//! timeout, name in the server's logs, and one-line errors.

use std::time::Duration;

use panoptic::connect::MongoSettings;
/// One line for a driver error met after connecting: a server that went
/// away mid-command prints no topology dump either.
pub use panoptic::connect::describe;

use super::Global;

/// How long a connection or heartbeat may take for a command.
const BUSY_SERVER: Duration = Duration::from_secs(60);

/// The name the server logs for the command's connections.
const APP_NAME: &str = "panoptic-cli";

/// `--mongodb-uri` with `--timeout` (at least a second) to find a server.
pub fn settings(global: &Global) -> Result<MongoSettings, String> {
    let find = Duration::from_secs(global.timeout.max(1));
    Ok(MongoSettings::parse(&global.mongodb_uri)?
        .server_timeout(find)
        // A second more for the ping, which starts by finding a server: a
        // server that is not there is reported as such, not as a slow ping.
        .operation_timeout(find + Duration::from_secs(1))
        // Commands read (and rollups write) for minutes on a server busy
        // with them: a heartbeat late by seconds must not fail them.
        .connect_timeout(find.max(BUSY_SERVER))
        .app_name(APP_NAME))
}

/// A client whose server answered a ping. The error is the library's one
/// line for every command ([`panoptic::connect::unanswered`]): what failed,
/// the hosts, what to try.
pub async fn ping(global: &Global) -> Result<mongodb::Client, String> {
    settings(global)?.ping().await
}

/// A client that answered a ping, or `None` (and a note on stderr) when
/// the spool is to be read instead: with `--spool`, or when MongoDB does
/// not answer.
pub async fn or_spool(global: &Global) -> Option<mongodb::Client> {
    if global.spool {
        return None;
    }
    match ping(global).await {
        Ok(client) => Some(client),
        Err(line) => {
            eprintln!(
                "panoptic: {line}; reading the spool at {} meanwhile",
                global.spool_dir.display()
            );
            None
        }
    }
}
