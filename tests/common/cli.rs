//! The `panoptic` command run as a child process against a given MongoDB
//! and spool, with none of the caller's panoptic settings leaking in.

use std::path::Path;
use std::process::{Command, Output};

/// `panoptic` reading `uri` and `spool`; the environment variables that
/// would change what it reads or prints are removed (a test sets back the
/// ones it means).
pub fn command(uri: &str, spool: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_panoptic"));
    command
        .env("MONGODB_URI", uri)
        .env("PANOPTIC_SPOOL_DIR", spool);
    for name in [
        "PANOPTIC_ENV",
        "PANOPTIC_RATES",
        "PANOPTIC_SERVE_TOKEN",
        "RUST_BACKTRACE",
    ] {
        command.env_remove(name);
    }
    command
}

/// Runs `panoptic args…` to its end.
pub fn run(args: &[&str], uri: &str, spool: &Path) -> Output {
    command(uri, spool).args(args).output().unwrap()
}

/// Output bytes as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The stdout of a run that must have succeeded (else both streams).
pub fn succeed(output: Output) -> String {
    assert!(
        output.status.success(),
        "{}\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    text(&output.stdout)
}
