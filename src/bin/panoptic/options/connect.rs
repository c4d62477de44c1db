//! The one way the command reaches MongoDB: the library's
//! [`MongoSettings`] made from [`Global`], so every subcommand has the same
//! timeout, name in the server's logs, and one-line errors.

use std::time::Duration;

use panoptic::config::{redact_secrets, redact_uri};
use panoptic::connect::MongoSettings;
/// One line for a driver error met after connecting: a server that went
/// away mid-command prints no topology dump either.
pub use panoptic::connect::describe;

use super::Global;

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
        .app_name(APP_NAME))
}

/// A client whose server answered a ping; the error is one line.
pub async fn ping(global: &Global) -> Result<mongodb::Client, String> {
    settings(global)?.ping().await
}

/// `MongoDB at URI did not answer: REASON`, the password left out.
pub fn unanswered(global: &Global, reason: &str) -> String {
    format!(
        "MongoDB at {} did not answer: {}",
        redact_uri(&global.mongodb_uri),
        redact_secrets(&global.mongodb_uri, reason)
    )
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
        Err(reason) => {
            eprintln!(
                "panoptic: MongoDB at {} did not answer ({}); reading the spool at {}",
                redact_uri(&global.mongodb_uri),
                redact_secrets(&global.mongodb_uri, &reason),
                global.spool_dir.display()
            );
            None
        }
    }
}
