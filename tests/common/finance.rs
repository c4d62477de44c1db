//! A ledger of every kind of row the finance exports map, stored in the
//! test database as history is: a call priced by the book from two
//! components, an amount given in euros, an unpriced failed call, a
//! BigQuery query in Google's Pacific billing month, a reconciliation
//! adjustment holding a credit, and a call whose resource, user and tag
//! are spreadsheet formulas.

use bson::doc;
use chrono::{DateTime, TimeZone, Utc};
use panoptic::money::to_decimal128;
use panoptic::{BillingEvent, Category, Decimal, Kind, Metadata, Outcome};

/// The hostile resource name (a live link if a spreadsheet ran it).
pub const HOSTILE_RESOURCE: &str = "=HYPERLINK(\"http://evil.example/\",\"open\")";
/// The hostile `metadata.user`.
pub const HOSTILE_USER: &str = "@SUM(1+1)*cmd|' /C calc'!A0";
/// The hostile username (the collection's user).
pub const HOSTILE_USERNAME: &str = "+evil";
/// The hostile tag.
pub const HOSTILE_TAG: &str = "-2+3";

/// The decimal written in `text`.
pub fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

/// A book-priced component, as `metadata.price.components.*` stores it.
pub struct Component {
    pub name: &'static str,
    pub quantity: Decimal,
    pub unit_price: Decimal,
    pub per: Decimal,
    pub unit: &'static str,
}

impl Component {
    /// quantity ÷ per × unit price: what the book charges for it.
    pub fn amount(&self) -> Decimal {
        self.quantity / self.per * self.unit_price
    }

    fn document(&self) -> bson::Document {
        doc! {
            "quantity": to_decimal128(self.quantity),
            "unit_price": to_decimal128(self.unit_price),
            "per": to_decimal128(self.per),
            "unit": self.unit,
            "amount": to_decimal128(self.amount()),
            "source": "https://example.test/prices",
            "checked": "2026-11-20",
            "effective": "2026-11-01",
        }
    }
}

/// The two components of the chat call: 1,200 input tokens at 0.15 and
/// 300 output tokens at 0.60, per million.
pub fn chat_components() -> [Component; 2] {
    [
        Component {
            name: "input",
            quantity: dec("1200"),
            unit_price: dec("0.15"),
            per: dec("1000000"),
            unit: "tokens",
        },
        Component {
            name: "output",
            quantity: dec("300"),
            unit_price: dec("0.60"),
            per: dec("1000000"),
            unit: "tokens",
        },
    ]
}

/// The BigQuery query: 2 TiB scanned at 6.25 per TiB.
pub fn bigquery_component() -> Component {
    Component {
        name: "bytes",
        quantity: dec("2199023255552"),
        unit_price: dec("6.25"),
        per: dec("1099511627776"),
        unit: "bytes",
    }
}

fn price(entry: &str, components: &[Component]) -> bson::Document {
    let mut all = bson::Document::new();
    for c in components {
        all.insert(c.name, c.document());
    }
    doc! { "entry": entry, "currency": "USD", "components": all }
}

fn event(
    (provider, service, resource): (&str, &str, &str),
    amount: Option<Decimal>,
    currency: &str,
    ts: DateTime<Utc>,
) -> BillingEvent {
    BillingEvent {
        id: bson::oid::ObjectId::new(),
        ts,
        project_id: None,
        env: String::new(),
        username: "finance user".into(),
        category: Category::Infra,
        provider: provider.into(),
        service: service.into(),
        resource: resource.into(),
        kind: Kind::Invoice,
        outcome: Outcome::Ok,
        quantity: 1.0,
        unit: "call".into(),
        amount,
        currency: currency.into(),
        metadata: Metadata::default(),
    }
}

/// The ledger's events, by name, as stored.
pub struct Ledger {
    pub env: String,
    pub chat: BillingEvent,
    pub geocode: BillingEvent,
    pub unpriced: BillingEvent,
    pub bigquery: BillingEvent,
    pub adjustment: BillingEvent,
    pub hostile: BillingEvent,
}

/// The credit share the adjustment holds (negative, as bills give them).
pub const ADJUSTMENT_CREDIT: &str = "-0.5";
/// The adjustment's amount: its credit plus the rest of the difference.
pub const ADJUSTMENT_AMOUNT: &str = "-1.25";

impl Ledger {
    /// Every event.
    pub fn all(&self) -> [&BillingEvent; 6] {
        [
            &self.chat,
            &self.geocode,
            &self.unpriced,
            &self.bigquery,
            &self.adjustment,
            &self.hostile,
        ]
    }
}

/// Stores the ledger in a new env. The fixed events fall between
/// 2026-12-01 and 2026-12-05 (UTC); the hostile call is at `hostile_at`.
pub async fn seed(test: &str, hostile_at: DateTime<Utc>) -> Ledger {
    let env = super::unique_env(test);
    let at = |d, h, m| Utc.with_ymd_and_hms(2026, 12, d, h, m, 0).unwrap();

    let components = chat_components();
    let mut chat = event(
        ("openai", "ChatCompletions", "ask_model"),
        Some(components.iter().map(Component::amount).sum()),
        "USD",
        at(3, 10, 15),
    );
    chat.category = Category::Ai;
    chat.project_id = Some("proj-1".into());
    chat.metadata.function_name = Some("ask_model".into());
    chat.metadata.user = Some("alice".into());
    chat.metadata.tags = vec!["team=data".into(), "nightly".into()];
    chat.metadata.duration_ms = Some(0.0037960000000000003);
    chat.metadata.extra = doc! {
        "price": price("openai/gpt-4o-mini", &components),
        "priced_by": "price_book",
        "call_id": "call-1",
    };

    let mut geocode = event(
        ("user_defined", "Geocoding", "geocode"),
        Some(dec("0.004")),
        "EUR",
        at(4, 9, 0),
    );
    geocode.metadata.extra = doc! { "priced_by": "given" };

    let mut unpriced = event(("aws", "S3", "fetch_invoice"), None, "USD", at(4, 11, 0));
    unpriced.outcome = Outcome::Error;
    unpriced.metadata.error = Some("access denied".into());
    unpriced.metadata.extra =
        doc! { "unpriced": "no amount given, and the return value reports no usage" };

    // 03:00 UTC on December 1st is still November 30th in California.
    let bq = bigquery_component();
    let mut bigquery = event(
        ("gcp", "BigQuery", "daily_report"),
        Some(bq.amount()),
        "USD",
        at(1, 3, 0),
    );
    bigquery.quantity = 2199023255552.0;
    bigquery.unit = "bytes".into();
    bigquery.metadata.extra = doc! {
        "price": price("gcp/BigQuery/on-demand", &[bq]),
        "priced_by": "price_book",
    };

    // Booked for December 2nd, a Pacific day: its midnight is 08:00 UTC.
    let mut adjustment = event(
        ("gcp", "BigQuery", "daily_report"),
        Some(dec(ADJUSTMENT_AMOUNT)),
        "USD",
        at(2, 8, 0),
    );
    adjustment.kind = Kind::Adjustment;
    adjustment.quantity = 0.0;
    adjustment.unit = "USD".into();
    adjustment.metadata.tags = vec!["reconcile".into()];
    adjustment.metadata.extra = doc! { "reconcile": {
        "basis": "net",
        "estimate": to_decimal128(dec("12.5")),
        "billed": to_decimal128(dec("11.25")),
        "difference": to_decimal128(dec(ADJUSTMENT_AMOUNT)),
        "share": "1",
        "credit": to_decimal128(dec(ADJUSTMENT_CREDIT)),
    } };

    let mut hostile = event(
        ("user_defined", "Pricing", HOSTILE_RESOURCE),
        Some(dec("1.5")),
        "USD",
        hostile_at,
    );
    hostile.username = HOSTILE_USERNAME.into();
    hostile.metadata.user = Some(HOSTILE_USER.into());
    hostile.metadata.tags = vec![HOSTILE_TAG.into()];
    hostile.metadata.error = Some("=1+2".into());

    let mut ledger = Ledger {
        env: env.clone(),
        chat,
        geocode,
        unpriced,
        bigquery,
        adjustment,
        hostile,
    };
    let client = super::client().await;
    let database = client.database(&panoptic::naming::database_name(&env));
    for event in [
        &mut ledger.chat,
        &mut ledger.geocode,
        &mut ledger.unpriced,
        &mut ledger.bigquery,
        &mut ledger.adjustment,
        &mut ledger.hostile,
    ] {
        event.env = env.clone();
        let collection = panoptic::naming::collection_name(&event.provider, &event.username);
        database
            .collection::<bson::Document>(&collection)
            .insert_one(event.to_document())
            .await
            .unwrap();
    }
    ledger
}
