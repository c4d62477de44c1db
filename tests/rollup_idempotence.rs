//! Nothing counts twice and nothing is missed, whatever happens around a
//! rollup: a spool replayed twice, `reconcile --apply` for an old day and
//! its rerun, a worker SIGKILLed mid-pass, two workers in two processes.
//! After each, reports equal a scan of every event.

mod common;

use std::time::{Duration, Instant};

use bson::doc;
use chrono::{Days, Duration as Span, SecondsFormat, Utc};
use common::cli::{run, succeed, text};
use common::rollup::{Seed, event, shown, write};
use panoptic::naming::database_name;
use panoptic::query::{CostQuery, GroupBy};
use panoptic::reconcile::{BillLine, Fallback, Reconciliation};
use panoptic::rollup::lease::Lease;
use panoptic::rollup::{DATABASE, WINDOWS, is_covered, roll_up};
use panoptic::{BillingEvent, Decimal, Provider};

fn seed(minutes_ago: i64, user: usize, service: usize, amount: i64) -> Seed {
    Seed {
        minutes_ago,
        user,
        provider: 0,
        service,
        resource: service,
        kind: 9,
        outcome: amount % 7 != 0,
        amount: Some(amount),
        euro: false,
        duration: Some((amount % 900) as u32 * 10),
        end_user: None,
        tags: 0,
    }
}

/// Reports that must equal a scan: totals, by user and service, by day.
fn queries(env: &str) -> Vec<CostQuery> {
    vec![
        CostQuery::new().env(env),
        CostQuery::new()
            .env(env)
            .group_by([GroupBy::User, GroupBy::Service]),
        CostQuery::new()
            .env(env)
            .group_by([GroupBy::Day, GroupBy::Resource]),
    ]
}

async fn assert_exact(client: &mongodb::Client, env: &str, when: &str) {
    for q in queries(env) {
        let rolled = q.run(client).await.unwrap();
        let scanned = q.run_scan(client).await.unwrap();
        assert_eq!(shown(&rolled), shown(&scanned), "{when}: {q:?}");
    }
}

async fn calls(client: &mongodb::Client, env: &str) -> u64 {
    let rows = CostQuery::new().env(env).run(client).await.unwrap();
    rows.iter().map(|r| r.count).sum()
}

/// `panoptic rollup` as if two hours from now: the current hour is closed.
fn rollup_later(uri: &str, spool: &std::path::Path, env: &str) -> String {
    let later = (Utc::now() + Span::hours(2)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let output = run(&["rollup", "--env", env, "--now", &later], uri, spool);
    let stderr = text(&output.stderr);
    succeed(output);
    stderr
}

async fn dirty_windows(client: &mongodb::Client, database: &str, dirty: bool) -> u64 {
    client
        .database(DATABASE)
        .collection::<bson::Document>(WINDOWS)
        .count_documents(doc! { "l": 0, "db": database, "dirty": dirty })
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spool_replayed_twice_counts_once() {
    let uri = common::mongodb_uri();
    let client = common::client().await;
    let env = common::unique_env("rollup_replay");
    let spool = common::temp_dir("rollup_replay");
    // MongoDB unreachable: 40 calls go to the spool.
    {
        let unreachable = format!(
            "mongodb://127.0.0.1:{}/?serverSelectionTimeoutMS=300",
            common::free_port()
        );
        let panoptic = common::resilient(&unreachable, &env, &spool, "alice")
            .build()
            .unwrap();
        let log = panoptic.logger(Provider::Gcp, "BigQuery");
        for i in 0..40 {
            panoptic::invoice!(log, "replayed"; "amount" => "0.25", "duration_ms" => f64::from(i));
        }
        assert!(panoptic.flush());
        assert_eq!(panoptic.stats().spooled, 40);
    }
    let kept = common::temp_dir("rollup_replay_copy");
    common::copy_dir(&spool, &kept);
    // The same collection already holds events of this hour and older
    // ones, rolled up with this hour closed.
    let now = Utc::now();
    let earlier: Vec<BillingEvent> = (0..30)
        .map(|i| event(&seed(i * 20, 0, 0, 1_000 + i), &env, now))
        .collect();
    write(&client, &earlier).await;
    rollup_later(&uri, &spool, &env);
    assert!(is_covered(&client, &database_name(&env)).await.unwrap());
    assert_eq!(calls(&client, &env).await, 30);

    for round in 0..2 {
        if round == 1 {
            std::fs::remove_dir_all(&spool).unwrap();
            common::copy_dir(&kept, &spool);
        }
        succeed(run(&["replay"], &uri, &spool));
        // The replayed hour was rolled up: its marks made it dirty, so the
        // replayed events count at once, and once.
        assert_exact(&client, &env, "after a replay").await;
        assert_eq!(calls(&client, &env).await, 70, "round {round}");
        rollup_later(&uri, &spool, &env);
        assert_exact(&client, &env, "rolled up after a replay").await;
        assert_eq!(calls(&client, &env).await, 70, "round {round}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_apply_for_an_old_day_and_its_rerun_stay_exact() {
    let client = common::client().await;
    let env = common::unique_env("rollup_recon");
    let database = database_name(&env);
    let now = Utc::now();
    // Old enough that its bill no longer changes (3 late days).
    let day = (now - Span::days(5)).date_naive();
    let minutes_ago = (now - day.and_hms_opt(12, 0, 0).unwrap().and_utc()).num_minutes();
    let events: Vec<BillingEvent> = (0..24)
        .map(|i| {
            event(
                &seed(minutes_ago - i * 20, (i % 2) as usize, 0, 10_000),
                &env,
                now,
            )
        })
        .collect();
    write(&client, &events).await;
    roll_up(&client, &database, now, false, &|_| {})
        .await
        .unwrap();
    let recon = Reconciliation::new("gcp", day, day + Days::new(1))
        .env(&env)
        .by([GroupBy::Service])
        .unwrap();
    let base = CostQuery::new().env(&env);
    let adjusted =
        |rows: &[panoptic::query::CostRow]| -> Decimal { rows.iter().map(|r| r.adjusted).sum() };
    // The bill says 0.30 where panoptic estimated 0.24; then, rerun after
    // the bill changed, 0.27; then nothing to adjust.
    for (billed, expected) in [("0.30", "0.06"), ("0.27", "0.03")] {
        let billed: Decimal = billed.parse().unwrap();
        let bill = [BillLine::new("gcp", day, billed, billed).service("BigQuery")];
        let report = recon.run(&client, &base, &bill).await.unwrap();
        let shares = recon.shares(&client, &base).await.unwrap();
        let adjustments = recon.adjustments(&report, &shares, &Fallback::default());
        assert!(!adjustments.is_empty());
        recon.apply(&client, &adjustments).await.unwrap();
        assert_exact(&client, &env, "after apply").await;
        let rows = CostQuery::new().env(&env).run(&client).await.unwrap();
        assert_eq!(adjusted(&rows), expected.parse::<Decimal>().unwrap());
        roll_up(&client, &database, now, false, &|_| {})
            .await
            .unwrap();
        assert_exact(&client, &env, "rolled up after apply").await;
        let rows = CostQuery::new().env(&env).run(&client).await.unwrap();
        assert_eq!(adjusted(&rows), expected.parse::<Decimal>().unwrap());
    }
    let removed = recon.apply(&client, &[]).await.unwrap();
    assert!(removed.removed > 0);
    roll_up(&client, &database, now, false, &|_| {})
        .await
        .unwrap();
    assert_exact(&client, &env, "after the adjustments were removed").await;
    let rows = CostQuery::new().env(&env).run(&client).await.unwrap();
    assert_eq!(adjusted(&rows), Decimal::ZERO);
}

/// Many collection hours: a pass long enough to be killed in its middle.
async fn seed_many(client: &mongodb::Client, env: &str) {
    let now = Utc::now();
    for user in 0..3 {
        let events: Vec<BillingEvent> = (0..6_000)
            // 600 hours each: a pass writes them in several reads.
            .map(|i| event(&seed(120 + i * 6, user, (i % 3) as usize, 1 + i), env, now))
            .collect();
        write(client, &events).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_pass_leaves_reports_exact() {
    let uri = common::mongodb_uri();
    let client = common::client().await;
    let env = common::unique_env("rollup_kill");
    let database = database_name(&env);
    let spool = common::temp_dir("rollup_kill");
    seed_many(&client, &env).await;
    let mut worker = common::cli::command(&uri, &spool)
        .args(["rollup", "--env", &env])
        .env("PANOPTIC_ROLLUP_LEASE_SECONDS", "4")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Killed once some windows are written and the pass goes on (a first
    // pass writes collection hours straight from events, then marks and
    // builds the hours and days above them).
    let started = Instant::now();
    loop {
        if dirty_windows(&client, &database, false).await > 0
            && dirty_windows(&client, &database, true).await > 0
        {
            worker.kill().unwrap();
            break;
        }
        assert!(
            worker.try_wait().unwrap().is_none(),
            "the pass ended before it could be killed mid-way"
        );
        assert!(started.elapsed() < Duration::from_secs(120));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    worker.wait().unwrap();
    let killed = Instant::now();
    // Its lease outlives it for its term: another worker skips meanwhile.
    let output = run(&["rollup", "--env", &env], &uri, &spool);
    assert!(
        text(&output.stderr).contains("another worker holds the rollup lease"),
        "{}",
        text(&output.stderr)
    );
    assert_exact(&client, &env, "right after the kill").await;
    tokio::time::sleep(Duration::from_secs(5).saturating_sub(killed.elapsed())).await;
    let stderr = text(&run(&["rollup", "--env", &env], &uri, &spool).stderr);
    assert!(stderr.contains("0 left dirty"), "{stderr}");
    assert_eq!(
        client
            .database(DATABASE)
            .collection::<bson::Document>(WINDOWS)
            .count_documents(doc! {
                "db": &database, "dirty": true, "l": { "$in": [0, 1] },
                "t": { "$lt": bson::DateTime::from_chrono(Utc::now() - Span::hours(2)) },
            })
            .await
            .unwrap(),
        0,
        "every closed hour rolled up"
    );
    assert_exact(&client, &env, "after the next worker").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_in_two_processes_share_by_the_lease() {
    let uri = common::mongodb_uri();
    let client = common::client().await;
    let env = common::unique_env("rollup_two");
    let database = database_name(&env);
    let spool = common::temp_dir("rollup_two");
    seed_many(&client, &env).await;
    // A lease held elsewhere: a worker process leaves the database alone.
    let held = Lease::acquire(&client, &database, "elsewhere")
        .await
        .unwrap()
        .unwrap();
    let output = run(&["rollup", "--env", &env], &uri, &spool);
    assert!(
        text(&output.stderr).contains("elsewhere"),
        "{}",
        text(&output.stderr)
    );
    assert!(!is_covered(&client, &database).await.unwrap());
    held.release().await.unwrap();
    // Two at once: whichever gets the lease works, the other skips or
    // finds nothing left; neither counts anything twice.
    let workers: Vec<_> = (0..2)
        .map(|_| {
            common::cli::command(&uri, &spool)
                .args(["rollup", "--rebuild", "--env", &env])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for worker in workers {
        succeed(worker.wait_with_output().unwrap());
    }
    succeed(run(&["rollup", "--env", &env], &uri, &spool));
    assert!(is_covered(&client, &database).await.unwrap());
    assert_eq!(calls(&client, &env).await, 18_000);
    assert_exact(&client, &env, "after two workers").await;
    // The command says the same with and without rollups.
    let report = |extra: &[&str]| {
        let mut args = vec![
            "report", "--env", &env, "--since", "30d", "--by", "user,day", "--format", "json",
        ];
        args.extend_from_slice(extra);
        succeed(run(&args, &uri, &spool))
    };
    let rolled = report(&[]);
    assert!(rolled.contains("\"count\""), "{rolled}");
    assert_eq!(rolled, report(&["--scan"]));
}
