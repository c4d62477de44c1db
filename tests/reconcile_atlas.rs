//! `panoptic reconcile --provider mongodb_atlas --atlas-org …` against a
//! local fake of the Atlas Administration API (v2): the organization's
//! invoice list, a closed invoice read by id for its line items, and the
//! pending invoice, in their exact JSON shape; HTTP Digest authentication
//! with an API key pair, checked by the fake with code of its own (RFC
//! 2617, MD5, `qop=auth`), a wrong key refused as Atlas refuses it.
//!
//! The invoice is worked out here from MongoDB's public list price of an
//! M10 cluster on AWS ($0.08 an hour), never from panoptic's tables.
#![cfg(feature = "cli")]

mod common;

use std::str::FromStr;
use std::sync::Mutex;

use chrono::{DateTime, Days, NaiveDate, Utc};
use md5::{Digest, Md5};
use panoptic::{Decimal, billable};
use serde_json::{Value as Json, json};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const ORG: &str = "5f1b2c3d4e5f60718293a4b5";
const PUBLIC_KEY: &str = "abcdefgh";
const PRIVATE_KEY: &str = "11111111-2222-3333-4444-555555555555";
const REALM: &str = "MMS Public API";
const NONCE: &str = "c2VydmVyLW5vbmNl";
const CLOSED: &str = "6a1b2c3d4e5f60718293a4c1";
const PENDING: &str = "6a1b2c3d4e5f60718293a4c2";
/// M10 on AWS, public list price: $0.08 an hour, in cents.
const M10_CENTS_PER_HOUR: i64 = 8;

static INSTALL: Mutex<()> = Mutex::new(());

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

/// A call the caller priced at a cent.
#[billable(provider = "mongodb_atlas", service = "Cluster", amount = 0.01)]
fn find_orders() {}

fn md5_hex(text: &str) -> String {
    hex::encode(Md5::digest(text.as_bytes()))
}

/// The fields of an `Authorization: Digest …` header.
fn digest_fields(header: &str) -> Option<std::collections::HashMap<String, String>> {
    let rest = header.strip_prefix("Digest ")?;
    let mut fields = std::collections::HashMap::new();
    for part in rest.split(',') {
        let (name, value) = part.trim().split_once('=')?;
        fields.insert(name.to_owned(), value.trim_matches('"').to_owned());
    }
    Some(fields)
}

/// Whether `header` answers the fake's challenge for `method` with the
/// right keys (RFC 2617: MD5, `qop=auth`).
fn digest_is_right(header: &str, method: &str, uri: &str) -> bool {
    let Some(f) = digest_fields(header) else {
        return false;
    };
    let field = |name: &str| f.get(name).map(String::as_str).unwrap_or_default();
    if field("username") != PUBLIC_KEY
        || field("realm") != REALM
        || field("nonce") != NONCE
        || field("uri") != uri
    {
        return false;
    }
    let ha1 = md5_hex(&format!("{PUBLIC_KEY}:{REALM}:{PRIVATE_KEY}"));
    let ha2 = md5_hex(&format!("{method}:{uri}"));
    let expected = md5_hex(&format!(
        "{ha1}:{NONCE}:{}:{}:{}:{ha2}",
        field("nc"),
        field("cnonce"),
        field("qop")
    ));
    field("qop") == "auth" && field("response") == expected
}

fn at(day: NaiveDate, hour: u32) -> String {
    (day.and_hms_opt(0, 0, 0).unwrap().and_utc() + chrono::Duration::hours(i64::from(hour)))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn item(day: NaiveDate, hours: u32, sku: &str, cents: i64, discount: Option<i64>) -> Json {
    let mut item = json!({
        "clusterName": "prod",
        "created": at(day, 0),
        "groupId": "6a1b2c3d4e5f60718293a400",
        "groupName": "shop",
        "quantity": hours,
        "sku": sku,
        "startDate": at(day, 0),
        "endDate": at(day, hours),
        "totalPriceCents": cents,
        "unit": "server hours",
        "unitPriceDollars": 0.08,
    });
    if let Some(discount) = discount {
        item["discountCents"] = discount.into();
    }
    item
}

fn invoice(id: &str, from: NaiveDate, to: NaiveDate, status: &str, items: Vec<Json>) -> Json {
    let billed: i64 = items
        .iter()
        .map(|i| i["totalPriceCents"].as_i64().unwrap())
        .sum();
    json!({
        "id": id,
        "orgId": ORG,
        "created": at(from, 0),
        "startDate": at(from, 0),
        "endDate": at(to, 0),
        "statusName": status,
        "amountBilledCents": billed,
        "amountPaidCents": 0,
        "creditsCents": 0,
        "lineItems": items,
        "links": [],
    })
}

struct Atlas {
    closed: Json,
    pending: Json,
}

impl Respond for Atlas {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let header = |name: &str| {
            request
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
        };
        let uri = match request.url.query() {
            Some(q) => format!("{}?{q}", request.url.path()),
            None => request.url.path().to_owned(),
        };
        let authorization = header("authorization");
        if authorization.is_empty() {
            return ResponseTemplate::new(401).insert_header(
                "www-authenticate",
                format!(
                    "Digest realm=\"{REALM}\", domain=\"\", nonce=\"{NONCE}\", algorithm=MD5, qop=\"auth\", stale=false"
                )
                .as_str(),
            );
        }
        if !digest_is_right(authorization, request.method.as_str(), &uri) {
            return ResponseTemplate::new(401).set_body_json(json!({
                "detail": "You are not authorized for this resource.",
                "error": 401,
                "errorCode": "USER_UNAUTHORIZED",
                "parameters": [],
                "reason": "Unauthorized",
            }));
        }
        if header("accept") != "application/vnd.atlas.2023-01-01+json" {
            return ResponseTemplate::new(406);
        }
        let base = format!("/api/atlas/v2/orgs/{ORG}/invoices");
        let path = request.url.path();
        let summary = |invoice: &Json| {
            let mut summary = invoice.clone();
            summary.as_object_mut().unwrap().remove("lineItems");
            summary
        };
        let body = if path == base {
            json!({
                "results": [summary(&self.closed), summary(&self.pending)],
                "totalCount": 2,
                "links": [],
            })
        } else if path == format!("{base}/pending") {
            json!({ "results": [self.pending.clone()], "totalCount": 1, "links": [] })
        } else if path == format!("{base}/{CLOSED}") {
            self.closed.clone()
        } else if path == format!("{base}/{PENDING}") {
            self.pending.clone()
        } else {
            return ResponseTemplate::new(404);
        };
        ResponseTemplate::new(200)
            .insert_header("content-type", "application/vnd.atlas.2023-01-01+json")
            .set_body_json(body)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn atlas_invoices_with_digest_auth_are_the_bill() {
    let env = common::unique_env("recon_atlas_invoices");
    {
        let _one = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
        let guard = common::builder(&env).install().unwrap();
        for _ in 0..3 {
            find_orders();
        }
        assert!(guard.flush());
    }
    let today = Utc::now().date_naive();
    let yesterday = today - Days::new(1);
    let closed_day = today - Days::new(2);
    // The closed invoice: the cluster's whole day less a 10-cent discount,
    // and its backup storage. The pending one: yesterday's day and today's
    // first hour, still accruing.
    let day_cents = 24 * M10_CENTS_PER_HOUR;
    let backup_cents = 5;
    let closed = invoice(
        CLOSED,
        closed_day,
        yesterday,
        "CLOSED",
        vec![
            item(
                closed_day,
                24,
                "ATLAS_AWS_INSTANCE_M10",
                day_cents,
                Some(10),
            ),
            item(
                closed_day,
                24,
                "ATLAS_BACKUP_SNAPSHOT_STORAGE",
                backup_cents,
                None,
            ),
        ],
    );
    let pending = invoice(
        PENDING,
        yesterday,
        today + Days::new(1),
        "PENDING",
        vec![
            item(yesterday, 24, "ATLAS_AWS_INSTANCE_M10", day_cents, None),
            item(today, 1, "ATLAS_AWS_INSTANCE_M10", M10_CENTS_PER_HOUR, None),
        ],
    );
    let fake = MockServer::start().await;
    Mock::given(wiremock::matchers::method("GET"))
        .respond_with(Atlas { closed, pending })
        .mount(&fake)
        .await;
    let run = |private_key: &str| {
        common::reconcile_cli::command(&env)
            .args(["--provider", "mongodb_atlas", "--atlas-org", ORG])
            .args(["--atlas-endpoint", &fake.uri()])
            .args(["--since", &closed_day.to_string()])
            .args(["--by", "day", "--late-days", "0", "--apply"])
            .env("MONGODB_ATLAS_PUBLIC_KEY", PUBLIC_KEY)
            .env("MONGODB_ATLAS_PRIVATE_KEY", private_key)
            .output()
            .unwrap()
    };

    let refused = run("the-wrong-private-key");
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("401") && stderr.contains("not authorized"),
        "{stderr}"
    );

    let output = run(PRIVATE_KEY);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    let rows = common::reconcile_cli::rows(&output);
    let row = |day: NaiveDate| {
        rows.iter()
            .find(|r| r["day"] == day.to_string())
            .unwrap_or_else(|| panic!("no row {day}: {rows:#?}"))
    };
    let money = |row: &Json, key: &str| dec(row[key].as_str().unwrap());
    let codes = |row: &Json| -> Vec<String> {
        row["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["code"].as_str().unwrap().to_owned())
            .collect()
    };
    let cents = |c: i64| Decimal::new(c, 2);
    // The closed day: list and net as the invoice says, the discount a
    // credit; never estimated (no call that day): booked.
    let first = row(closed_day);
    assert_eq!(money(first, "list"), cents(day_cents + backup_cents));
    assert_eq!(money(first, "net"), cents(day_cents + backup_cents - 10));
    assert_eq!(money(first, "credits"), cents(-10));
    for code in ["not_estimated", "credits"] {
        assert!(codes(first).contains(&code.to_owned()), "{first}");
    }
    // Yesterday: on the pending invoice, so late whatever its age.
    let accruing = row(yesterday);
    assert_eq!(money(accruing, "list"), cents(day_cents));
    assert!(
        accruing.to_string().contains("marks this day estimated"),
        "{accruing}"
    );
    // Today: the calls' estimate beside the hour billed so far.
    let now = row(today);
    assert_eq!(money(now, "estimate"), dec("0.03"));
    assert_eq!(money(now, "list"), cents(M10_CENTS_PER_HOUR));
    assert!(codes(now).contains(&"late_data".to_owned()), "{now}");
    // Only the closed day is booked.
    let booked = common::adjustment_events(&env).await;
    assert!(!booked.is_empty(), "{stderr}");
    for adjustment in &booked {
        let day: DateTime<Utc> = adjustment.ts;
        assert_eq!(day.date_naive(), closed_day, "{adjustment:?}");
    }
    let amount: Decimal = booked.iter().filter_map(|e| e.amount).sum();
    assert_eq!(amount, cents(day_cents + backup_cents));
}
