//! Crash points for panoptic's own tests (feature `fault-injection`,
//! turned on only by the workspace's dev-dependencies): a process whose
//! `PANOPTIC_BUDGET_FAULT` names a point prints `panoptic-fault: {point}`
//! on stdout when it gets there and stops, for the test to SIGKILL it.
//! Without the feature a point is nothing.

/// Stops here when the test asked for this point.
#[cfg(feature = "fault-injection")]
pub(crate) fn point(name: &str) {
    use std::io::Write;
    if std::env::var("PANOPTIC_BUDGET_FAULT").is_ok_and(|p| p == name) {
        let mut out = std::io::stdout();
        let _ = writeln!(out, "panoptic-fault: {name}");
        let _ = out.flush();
        loop {
            std::thread::park();
        }
    }
}

/// Stops here when the test asked for this point (never, in this build).
#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub(crate) fn point(_name: &str) {}
