//! Errors returned to the application. Failures of MongoDB itself never
//! come here: they are counted in `Stats` and reported on stderr.

/// What can go wrong while configuring panoptic.
///
/// ```
/// match panoptic_core::Panoptic::builder().build() {
///     Err(panoptic_core::Error::MissingUsername) => {}
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No username was given (builder, `PANOPTIC_USERNAME`) or it was blank.
    #[error(
        "panoptic needs a username: call `.username(\"…\")` on the builder or set PANOPTIC_USERNAME \
         (events are stored per user, in collection `{{provider}}_{{username}}`)"
    )]
    MissingUsername,
    /// `PANOPTIC_LOG_LEVEL` is not a level name.
    #[error(
        "PANOPTIC_LOG_LEVEL is {0:?}; expected one of trace, debug, info, warning, error, critical"
    )]
    InvalidLogLevel(String),
    /// The MongoDB connection string cannot be parsed.
    #[error("invalid MongoDB URI {uri}: {reason}")]
    InvalidMongoUri {
        /// The URI with its password masked.
        uri: String,
        /// What the driver said, with the password masked.
        reason: String,
    },
    /// A budget is not valid, or the `PANOPTIC_BUDGETS` file cannot be read.
    #[error("{0}")]
    InvalidBudget(String),
    /// The background writer thread could not start.
    #[error("cannot start panoptic's writer thread: {0}")]
    Writer(#[source] std::io::Error),
}
