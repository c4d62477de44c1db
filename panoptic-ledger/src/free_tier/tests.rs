//! A month of BigQuery runs on a fake billing account: the free TiB is
//! taken off once, where the month's usage crosses it. Expected figures
//! come from the public price written here, not from panoptic's table.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::America::Los_Angeles;
use rust_decimal::Decimal;

use super::*;
use crate::query::GroupBy;
use panoptic_core::{Category, Metadata, Outcome};

const ACCOUNT: &str = "01FAKE-000000-00000A";
const GIB: i64 = 1 << 30;

/// BigQuery on-demand, US, 2026: $6.25 per TiB, the first TiB of a month free.
fn list(bytes: i64) -> Decimal {
    Decimal::from(bytes) * Decimal::new(625, 2) / Decimal::from(1i64 << 40)
}

fn run(at: DateTime<Utc>, gib: i64, account: Option<&str>, user: &str) -> BillingEvent {
    let mut extra = bson::doc! {
        "pricing_model": "on_demand",
        "bytes_billed": gib * GIB,
        "location": "US",
    };
    if let Some(account) = account {
        extra.insert("billing_account", account);
    }
    BillingEvent {
        id: bson::oid::ObjectId::new(),
        ts: at,
        project_id: None,
        env: "prod".into(),
        username: user.into(),
        category: Category::Infra,
        provider: "gcp".into(),
        service: "BigQuery".into(),
        resource: "daily_report".into(),
        kind: Kind::Invoice,
        outcome: Outcome::Ok,
        quantity: (gib * GIB) as f64,
        unit: "bytes".into(),
        amount: Some(list(gib * GIB)),
        currency: "USD".into(),
        metadata: Metadata {
            extra,
            ..Metadata::default()
        },
    }
}

/// Noon, Pacific, on `day` of November 2026.
fn november(day: u32) -> DateTime<Utc> {
    let local = NaiveDate::from_ymd_opt(2026, 11, day)
        .unwrap()
        .and_hms_opt(12, 0, 0)
        .unwrap();
    Los_Angeles
        .from_local_datetime(&local)
        .unwrap()
        .with_timezone(&Utc)
}

fn calculator() -> Calculator {
    Calculator::default()
}

#[test]
fn a_months_report_over_a_fake_account_crosses_the_free_tier_once() {
    // Five runs of 300 GiB on five days: 1,500 GiB, of which 1,024 free.
    let mut events: Vec<BillingEvent> = (0..5)
        .map(|i| run(november(3 + 5 * i), 300, Some(ACCOUNT), "ann"))
        .collect();
    // A run without an account stays at list price.
    events.push(run(november(20), 100, None, "ann"));
    // Another account has its own free TiB.
    events.push(run(november(21), 50, Some("01FAKE-000000-00000B"), "bob"));
    // 23:30 Pacific on 30 November is 1 December in UTC: still November's.
    let late = november(30) + Duration::minutes(11 * 60 + 30);
    events.push(run(late, 10, Some(ACCOUNT), "ann"));
    // December: a new month, a new free TiB.
    let december = late + Duration::days(1);
    events.push(run(december, 10, Some(ACCOUNT), "ann"));

    let free = FreeTier::of_events(&events, &calculator());
    let month = CostQuery::new()
        .since(billing_month_start(november(15)))
        .until(billing_month_start(december))
        .time_zone(Los_Angeles);

    // By day: the first three days free, the fourth crosses, the fifth is list.
    let by_day = month.clone().group_by([GroupBy::Day]);
    let rows = free.apply(&by_day, by_day.run_on_events(&events));
    let day = |d: u32| {
        rows.iter()
            .find(|r| r.key[0] == format!("2026-11-{d:02}"))
            .unwrap()
            .amount
    };
    assert_eq!(day(3), Decimal::ZERO);
    assert_eq!(day(8), Decimal::ZERO);
    assert_eq!(day(13), Decimal::ZERO);
    // 1,024 − 900 = 124 GiB free of the fourth run's 300.
    assert_eq!(day(18), list(176 * GIB));
    assert_eq!(day(23), list(300 * GIB));
    assert_eq!(day(20), list(100 * GIB)); // no account named
    assert_eq!(day(21), Decimal::ZERO); // the other account's own TiB
    assert_eq!(day(30), list(10 * GIB)); // after the crossing
    let crossing: Vec<_> = rows
        .iter()
        .filter(|r| {
            r.amount > Decimal::ZERO && r.amount < list(300 * GIB) && r.key[0] == "2026-11-18"
        })
        .collect();
    assert_eq!(crossing.len(), 1);

    // The month's total: list less one TiB for each account that used
    // it (account B's 50 GiB were all free).
    let total = month.clone().group_by([]);
    let rows = free.apply(&total, total.run_on_events(&events));
    let billed_a = (1500 + 10 - 1024) * GIB;
    assert_eq!(rows[0].amount, list(billed_a) + list(100 * GIB));
    let credits = free.credits(&month);
    assert_eq!(credits.len(), 2, "{credits:?}");
    let a = credits
        .iter()
        .find(|c| c.billing_account == ACCOUNT)
        .unwrap();
    assert_eq!(
        a.month,
        BillingMonth {
            year: 2026,
            month: 11
        }
    );
    assert_eq!(a.credit, Decimal::new(625, 2));
    assert_eq!(a.free_quantity, Decimal::ONE);

    // December's run is inside December's free TiB.
    let next = CostQuery::new()
        .since(billing_month_start(december))
        .group_by([]);
    let rows = free.apply(&next, next.run_on_events(&events));
    assert_eq!(rows[0].amount, Decimal::ZERO);

    // A report of one user sees only that user's credits.
    let bob = month.clone().username("bob").group_by([]);
    let rows = free.apply(&bob, bob.run_on_events(&events));
    assert_eq!(rows[0].amount, Decimal::ZERO);
}

#[test]
fn the_billing_month_starts_at_pacific_midnight() {
    let at: DateTime<Utc> = "2026-12-01T07:59:59Z".parse().unwrap();
    assert_eq!(
        billing_month_start(at),
        "2026-11-01T07:00:00Z".parse::<DateTime<Utc>>().unwrap()
    );
    let at: DateTime<Utc> = "2026-12-01T08:00:00Z".parse().unwrap();
    assert_eq!(
        billing_month_start(at),
        "2026-12-01T08:00:00Z".parse::<DateTime<Utc>>().unwrap()
    );
}

#[test]
fn gcp_reconciliation_compares_estimates_net_of_the_free_tier() {
    use crate::reconcile::{BillLine, Reconciliation};
    // Four runs of 300 GiB on four days; Google's bill (worked out here
    // from the public price) charges nothing until the first TiB is used.
    let events: Vec<BillingEvent> = (0..4)
        .map(|i| run(november(2 + i), 300, Some(ACCOUNT), "ann"))
        .collect();
    let billed = |used_before: i64| {
        let free_left = (1024 - used_before).max(0);
        list((300 - free_left.min(300)) * GIB)
    };
    let bill: Vec<BillLine> = (0..4)
        .map(|i| {
            let day = NaiveDate::from_ymd_opt(2026, 11, 2 + i).unwrap();
            let cost = billed(300 * i64::from(i));
            BillLine::new("gcp", day, cost, cost)
        })
        .collect();
    let recon = Reconciliation::new(
        "gcp",
        NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
        NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
    )
    .time_zone(Los_Angeles)
    .by([])
    .unwrap()
    .today(NaiveDate::from_ymd_opt(2026, 12, 20).unwrap());
    let report = recon.run_on_events(&events, &CostQuery::new(), &bill);
    assert_eq!(report.rows.len(), 4, "{report:?}");
    for row in &report.rows {
        assert!(row.difference.is_zero(), "{row:?}");
        assert!(!row.flagged, "{row:?}");
    }
    // The day that crossed: 124 of its 300 GiB free.
    let crossing = report
        .rows
        .iter()
        .find(|r| r.key[0] == "2026-11-05")
        .unwrap();
    assert_eq!(crossing.estimate, list(176 * GIB));
}
