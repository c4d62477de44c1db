//! Errors from background threads go to stderr, never to the caller, and
//! at most one line per interval, so an outage does not flood the terminal.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Reports errors on stderr, one line per `interval` at most, counting the
/// ones it held back. Secrets (the MongoDB password) are removed first.
pub(crate) struct ErrorReporter {
    interval: Duration,
    secrets: Vec<String>,
    state: Mutex<ReporterState>,
}

#[derive(Default)]
struct ReporterState {
    last_line: Option<Instant>,
    suppressed: u64,
}

impl ErrorReporter {
    pub fn new(interval: Duration, secrets: Vec<String>) -> Self {
        Self {
            interval,
            secrets,
            state: Mutex::default(),
        }
    }

    /// Removes every secret from `message`.
    pub fn redact(&self, message: &str) -> String {
        crate::config::scrub(message, &self.secrets)
    }

    /// Prints `message` unless a line was printed less than `interval` ago;
    /// returns the redacted message either way.
    pub fn report(&self, message: &str) -> String {
        let message = self.redact(message);
        let Ok(mut state) = self.state.lock() else {
            return message;
        };
        let now = Instant::now();
        if state
            .last_line
            .is_some_and(|last| now.duration_since(last) < self.interval)
        {
            state.suppressed += 1;
            return message;
        }
        if state.suppressed > 0 {
            write_line(&format!(
                "panoptic: {message} ({} similar errors since the last report)",
                state.suppressed
            ));
        } else {
            write_line(&format!("panoptic: {message}"));
        }
        state.last_line = Some(now);
        state.suppressed = 0;
        message
    }
}

impl ErrorReporter {
    /// Prints `message` whatever the interval: for the one line a shutdown
    /// owes the user.
    pub fn always(&self, message: &str) {
        write_line(&format!("panoptic: {}", self.redact(message)));
    }
}

/// One line on stderr. A closed stderr (EPIPE) is ignored: `eprintln!`
/// would panic, and reporting must never stop the writer.
pub fn write_line(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}
