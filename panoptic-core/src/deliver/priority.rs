//! The writer thread's scheduling priority: below the application's, so
//! that storing events waits for an idle core instead of taking one from
//! the calls being billed (BENCHMARKS.md, round 9).

/// Lowers the calling thread's priority by `steps` (Linux: its nice value,
/// which belongs to each thread there, not to the process). Raising it
/// back would need a privilege, so `0` leaves it alone. Elsewhere nothing
/// changes.
pub(crate) fn lower_current_thread(steps: u8) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    if steps > 0 {
        rustix::process::nice(i32::from(steps))?;
    }
    #[cfg(not(target_os = "linux"))]
    let _ = steps;
    Ok(())
}
