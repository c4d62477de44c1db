//! What several subcommands share: where the events are ([`Global`]), the
//! filters of a time range, reading a time, and reaching MongoDB. A leaf:
//! nothing here knows any subcommand.

pub mod connect;
mod filters;
mod time;

use std::path::PathBuf;

use clap::Args;

pub use filters::Filters;
pub use time::parse_time;

/// Where the events are: options every subcommand takes.
#[derive(Debug, Args)]
pub struct Global {
    /// MongoDB connection string.
    #[arg(long, env = "MONGODB_URI", default_value = panoptic::config::DEFAULT_MONGODB_URI, global = true)]
    pub mongodb_uri: String,
    /// The spool folder (events waiting for MongoDB, or the only store
    /// when there is none).
    #[arg(long, env = "PANOPTIC_SPOOL_DIR", default_value = panoptic::DEFAULT_SPOOL_DIR, global = true)]
    pub spool_dir: PathBuf,
    /// Read the spool only, even if MongoDB answers.
    #[arg(long, global = true)]
    pub spool: bool,
    /// Seconds to wait for MongoDB before falling back to the spool.
    #[arg(long, default_value_t = 2, global = true)]
    pub timeout: u64,
}
