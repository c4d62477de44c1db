//! The clock annotated calls are timed with: the CPU's time-stamp counter
//! where it is invariant (12 ns a read against 35 ns for `clock_gettime`
//! on the bench machine, BENCHMARKS.md round 7), else the monotonic
//! clock. Calls read it twice; the writer turns the readings
//! into a duration and a UTC time, off the caller's thread.

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use chrono::{DateTime, Utc};

/// A reading of the call clock, in nanoseconds of the monotonic clock.
pub(crate) type Instant = quanta::Instant;

#[inline]
fn clock() -> &'static quanta::Clock {
    static CLOCK: OnceLock<quanta::Clock> = OnceLock::new();
    // Calibrating against the monotonic clock takes milliseconds, once per
    // process: `calibrate` does it when an instance is built.
    CLOCK.get_or_init(quanta::Clock::new)
}

/// Calibrates the clock now, so that no call pays for it.
pub(crate) fn calibrate() {
    clock();
}

/// Now, by the call clock.
#[inline]
pub(crate) fn now() -> Instant {
    clock().now()
}

/// The UTC time of a reading, against an anchor (a wall-clock and a
/// call-clock reading taken together) renewed every second, so the two
/// clocks cannot drift apart noticeably. Called by the writer, not the
/// caller, which saves every annotated call a wall-clock read.
pub(crate) fn wall_clock(at: Instant) -> DateTime<Utc> {
    static ANCHOR: Mutex<Option<(DateTime<Utc>, Instant)>> = Mutex::new(None);
    let mut anchor = ANCHOR
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let current = now();
    let (wall, mono) = match *anchor {
        Some((wall, mono)) if current.saturating_duration_since(mono) < Duration::from_secs(1) => {
            (wall, mono)
        }
        _ => {
            let fresh = (Utc::now(), current);
            *anchor = Some(fresh);
            fresh
        }
    };
    let offset = |d: Duration| chrono::Duration::from_std(d).unwrap_or_default();
    if at >= mono {
        wall + offset(at - mono)
    } else {
        wall - offset(mono - at)
    }
}

#[cfg(test)]
mod tests;
