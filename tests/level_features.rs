//! slog's `max_level_*` and `release_max_level_*` features, turned on by any
//! crate of a build, used to compile the kind macros (`invoice!`, …) out.
//! A separate crate with both set to "off" builds against panoptic-core and
//! must still record every billing record.

use std::path::Path;
use std::process::Command;

#[test]
fn slog_level_features_cannot_compile_billing_records_out() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fixture = root.join("tests/fixtures/level-features");
    // The workspace's lock file, so the fixture builds the same versions
    // (and needs no registry lookup beyond what the workspace has).
    std::fs::copy(root.join("Cargo.lock"), fixture.join("Cargo.lock")).unwrap();
    let target = root.join("target/fixtures");
    let spool = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO"))
        .args(["run", "--quiet", "--manifest-path"])
        .arg(fixture.join("Cargo.toml"))
        .arg("--")
        .arg(spool.path())
        .env("CARGO_TARGET_DIR", &target)
        // A build of its own that nobody debugs: no debug info keeps it
        // small on CI's disk.
        .env("CARGO_PROFILE_DEV_DEBUG", "false")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    // Ten of each of the five kinds; the diagnostic error! is not one.
    assert!(stdout.contains("SPOOLED 50"), "{stdout}\n{stderr}");
}
