//! Dead letters counted: an event MongoDB (or the spool) can never take is
//! kept in a file for a person to look at, and counted in the handle's
//! stats.

use panoptic_spool::bson_bytes::WriteBson;
use panoptic_spool::dead_letter;

use crate::stats::Counters;

/// Writes an event that MongoDB (or the spool) can never take to a
/// dead-letter file in `spool_dir`, counting it failed (and dead-lettered
/// when the file was written). Returns the line to report.
pub(crate) fn keep_dead_letter(
    spool_dir: &std::path::Path,
    counters: &Counters,
    (database, collection): (&str, &str),
    document: &impl WriteBson,
    reason: &str,
) -> String {
    Counters::add(&counters.failed, 1);
    match dead_letter(spool_dir, database, collection, document, reason) {
        Ok(path) => {
            Counters::add(&counters.dead_lettered, 1);
            format!(
                "an event for {database}.{collection} was refused for good ({reason}); kept in {}",
                path.display()
            )
        }
        Err(error) => format!(
            "an event for {database}.{collection} was refused for good ({reason}) and cannot be kept: {error}"
        ),
    }
}
