//! `panoptic reconcile --apply` leaves the days whose bill may still
//! change alone: no adjustment is booked from a partial bill, what an
//! earlier `--include-late` run booked is kept, and the command says how
//! many rows it left. The bill is a MongoDB Atlas cluster's hour at its
//! list price (no bill source needed); the estimates are real
//! `#[billable]` calls made today, a late day by default.

mod common;

use panoptic::billable;

/// Priced by its caller below the cluster's hour, so the day differs.
#[billable(provider = "mongodb_atlas", service = "Cluster", amount = 0.01)]
fn find_orders() {}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_day_is_booked_only_when_asked_and_then_kept() {
    let env = common::unique_env("recon_late");
    let guard = common::builder(&env).install().unwrap();
    for _ in 0..3 {
        find_orders();
    }
    assert!(guard.flush());
    drop(guard);

    let apply = |extra: &[&str]| {
        let output = common::reconcile_cli::atlas_first_hour_today(&env)
            .arg("--apply")
            .args(extra)
            .output()
            .unwrap();
        let rows = common::reconcile_cli::rows(&output);
        let codes: Vec<String> = rows[0]["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["code"].as_str().unwrap().to_owned())
            .collect();
        (String::from_utf8_lossy(&output.stderr).into_owned(), codes)
    };

    // Billed more than estimated on today: late all the same.
    let (stderr, codes) = apply(&[]);
    assert!(codes.contains(&"late_data".to_owned()), "{codes:?}");
    assert!(stderr.contains("0 written"), "{stderr}");
    assert!(stderr.contains("1 row(s) from"), "{stderr}");
    assert!(stderr.contains("--include-late"), "{stderr}");
    assert!(common::adjustment_events(&env).await.is_empty());

    let (stderr, _) = apply(&["--include-late"]);
    assert!(stderr.contains("written"), "{stderr}");
    let booked = common::adjustment_events(&env).await;
    assert!(!booked.is_empty(), "{stderr}");

    // Without the flag again: what was booked stays, untouched.
    let (stderr, _) = apply(&[]);
    assert!(
        stderr.contains("0 written") && stderr.contains("0 removed"),
        "{stderr}"
    );
    assert_eq!(common::adjustment_events(&env).await, booked);
}
