//! With no `Panoptic` installed, annotated calls run as before, record
//! nothing, and say so once on stderr. Its own test binary: nothing here
//! ever installs an instance.

use panoptic::billable;

#[billable(provider = "gcp", service = "BigQuery")]
fn query(n: u32) -> Result<u32, String> {
    if n > 2 {
        Err(format!("too big: {n}"))
    } else {
        Ok(n * 2)
    }
}

#[test]
fn child_calls_without_an_instance() {
    if std::env::var("PANOPTIC_NOT_INSTALLED_CHILD").is_err() {
        return;
    }
    for n in 0..5 {
        let expected = if n > 2 {
            Err(format!("too big: {n}"))
        } else {
            Ok(n * 2)
        };
        assert_eq!(query(n), expected);
    }
    assert!(panoptic::global().is_none());
    println!("CHILD-OK");
}

#[test]
fn says_so_once_and_changes_nothing() {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_calls_without_an_instance", "--nocapture"])
        .env("PANOPTIC_NOT_INSTALLED_CHILD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("CHILD-OK"),
        "{stdout}\n{stderr}"
    );
    let lines: Vec<_> = stderr
        .lines()
        .filter(|l| l.starts_with("panoptic:"))
        .collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].contains("no Panoptic installed"), "{}", lines[0]);
}
