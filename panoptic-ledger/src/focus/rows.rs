//! One event as FOCUS rows: a row per priced component of a call (each is
//! a SKU price), one row for a call priced otherwise or not at all, and
//! one row for an adjustment (two when it holds a credit of the bill).

use bson::{Bson, Document};
use chrono::{DateTime, Datelike, Duration, DurationRound, Months, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use panoptic_core::money::from_decimal128;
use panoptic_core::naming::database_name;
use panoptic_core::{BillingEvent, Kind};
use rust_decimal::Decimal;
use serde_json::{Map, Value as Json};

use super::columns::{COLUMNS, Col};
use super::provider::{billing_zone, provider_name, service_category};

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// No value (FOCUS's null).
    Null,
    /// Text (also JSON for Key-Value columns).
    Text(String),
    /// An exact decimal.
    Decimal(Decimal),
    /// A UTC time.
    Time(DateTime<Utc>),
}

/// One FOCUS row: a value per column of [`COLUMNS`], in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    values: Vec<Value>,
}

impl Row {
    fn new() -> Row {
        Row {
            values: vec![Value::Null; COLUMNS.len()],
        }
    }

    fn set(&mut self, col: Col, value: Value) {
        self.values[col as usize] = value;
    }

    fn text(&mut self, col: Col, text: impl Into<String>) {
        self.set(col, Value::Text(text.into()));
    }

    fn optional_text(&mut self, col: Col, text: Option<&str>) {
        if let Some(text) = text.filter(|t| !t.is_empty()) {
            self.text(col, text);
        }
    }

    fn decimal(&mut self, col: Col, value: Option<Decimal>) {
        self.set(
            col,
            value.map_or(Value::Null, |v| Value::Decimal(v.normalize())),
        );
    }

    /// The cost columns: all four hold `amount` (see the module's notes).
    fn costs(&mut self, amount: Option<Decimal>) {
        for col in [
            Col::BilledCost,
            Col::EffectiveCost,
            Col::ContractedCost,
            Col::ListCost,
        ] {
            self.decimal(col, amount);
        }
    }

    /// The value of `col`.
    pub fn get(&self, col: Col) -> &Value {
        &self.values[col as usize]
    }

    /// Every value, in the order of [`COLUMNS`].
    pub fn values(&self) -> &[Value] {
        &self.values
    }
}

/// The FOCUS rows of `event`.
pub fn rows(event: &BillingEvent) -> Vec<Row> {
    let base = common(event);
    match event.kind {
        Kind::Adjustment => adjustment(event, base),
        _ => usage(event, base),
    }
}

/// What every row of an event says: accounts, periods, provider, service,
/// resource, tags and panoptic's own columns.
fn common(event: &BillingEvent) -> Row {
    let mut row = Row::new();
    let zone = billing_zone(&event.provider);
    let (start, end) = billing_month(event.ts, zone);
    row.text(Col::BillingAccountId, database_name(&event.env));
    row.text(Col::BillingAccountName, format!("panoptic {}", event.env));
    row.text(Col::BillingCurrency, &event.currency);
    row.set(Col::BillingPeriodStart, Value::Time(start));
    row.set(Col::BillingPeriodEnd, Value::Time(end));
    let company = provider_name(&event.provider);
    row.text(Col::InvoiceIssuerName, &company);
    row.text(Col::PublisherName, &company);
    row.text(Col::ProviderName, company);
    row.text(Col::ServiceName, &event.service);
    row.text(
        Col::ServiceCategory,
        service_category(&event.provider, &event.service, event.category),
    );
    row.text(Col::ResourceId, &event.resource);
    row.text(Col::ResourceName, &event.resource);
    let region = event.metadata.extra.get_str("region").ok();
    row.optional_text(Col::RegionId, region);
    row.optional_text(Col::RegionName, region);
    row.optional_text(Col::SubAccountId, event.project_id.as_deref());
    row.optional_text(Col::SubAccountName, event.project_id.as_deref());
    if !event.metadata.tags.is_empty() {
        row.text(Col::Tags, tags(&event.metadata.tags));
    }
    let m = &event.metadata;
    row.text(Col::XEventId, event.id.to_hex());
    row.text(Col::XKind, event.kind.as_str());
    row.optional_text(Col::XFunction, m.function_name.as_deref());
    row.optional_text(Col::XUser, m.user.as_deref());
    row.text(Col::XUsername, &event.username);
    row.text(Col::XEnvironment, &event.env);
    row.text(Col::XOutcome, event.outcome.as_str());
    row.optional_text(Col::XCallId, m.extra.get_str("call_id").ok());
    row.optional_text(Col::XRequestId, m.request_id.as_deref());
    row.optional_text(Col::XUnpriced, m.unpriced());
    row.optional_text(Col::XPricedBy, m.priced_by());
    row.decimal(Col::XDurationMs, m.duration_ms.and_then(nanosecond_millis));
    row.optional_text(Col::XError, m.error.as_deref());
    row
}

/// A call: a row per priced component when the components add up to the
/// amount, else one row with the amount (or none, unpriced).
fn usage(event: &BillingEvent, mut base: Row) -> Vec<Row> {
    let hour = event
        .ts
        .duration_trunc(Duration::hours(1))
        .unwrap_or(event.ts);
    base.set(Col::ChargePeriodStart, Value::Time(hour));
    base.set(Col::ChargePeriodEnd, Value::Time(hour + Duration::hours(1)));
    base.text(Col::ChargeCategory, "Usage");
    base.text(Col::ChargeFrequency, "Usage-Based");
    let price = event.metadata.price();
    let entry = price.and_then(|p| p.get_str("entry").ok());
    base.optional_text(Col::SkuId, entry);
    if event.amount.is_some() {
        base.text(Col::PricingCategory, "Standard");
    }
    let what = format!(
        "{} call {} ({})",
        event.service, event.resource, event.outcome
    );
    let components = price
        .zip(event.amount)
        .and_then(|(price, amount)| components(price, amount));
    let Some(components) = components else {
        let mut row = base;
        let quantity = float_decimal(event.quantity);
        row.costs(event.amount);
        row.decimal(Col::PricingQuantity, quantity);
        row.text(Col::PricingUnit, &event.unit);
        row.decimal(Col::ConsumedQuantity, quantity);
        row.text(Col::ConsumedUnit, &event.unit);
        let how = match (event.amount, event.metadata.unpriced()) {
            (Some(_), _) => match event.metadata.priced_by() {
                Some(by) => format!("priced by {by}"),
                None => "amount given".to_owned(),
            },
            (None, Some(reason)) => format!("unpriced: {reason}"),
            (None, None) => "unpriced".to_owned(),
        };
        row.text(Col::ChargeDescription, format!("{what}, {how}"));
        return vec![row];
    };
    let variant = price.and_then(|p| p.get_str("variant").ok());
    components
        .into_iter()
        .map(|c| {
            let mut row = base.clone();
            row.costs(Some(c.amount));
            row.decimal(Col::ListUnitPrice, Some(c.unit_price));
            row.decimal(Col::ContractedUnitPrice, Some(c.unit_price));
            row.decimal(Col::PricingQuantity, Some(c.quantity / c.per));
            let unit = if c.per == Decimal::ONE {
                c.unit.clone()
            } else {
                format!("{} {}", c.per.normalize(), c.unit)
            };
            row.text(Col::PricingUnit, &unit);
            row.decimal(Col::ConsumedQuantity, Some(c.quantity));
            row.text(Col::ConsumedUnit, &c.unit);
            let mut price_id = entry.unwrap_or_default().to_owned();
            for part in variant.iter().chain([&c.name.as_str()]) {
                price_id.push('/');
                price_id.push_str(part);
            }
            if let Some(effective) = &c.effective {
                price_id.push('@');
                price_id.push_str(effective);
            }
            row.text(Col::SkuPriceId, price_id);
            row.text(Col::XPriceComponent, &c.name);
            row.text(
                Col::ChargeDescription,
                format!(
                    "{what}, {} at {} per {unit} from the price book ({})",
                    c.name,
                    c.unit_price.normalize(),
                    entry.unwrap_or("?")
                ),
            );
            row
        })
        .collect()
}

/// A difference with the bill booked by `panoptic reconcile --apply`: an
/// `Adjustment` row for the day it corrects; the share of the bill's
/// credits it holds (with `--basis net`) as a `Credit` row of its own.
fn adjustment(event: &BillingEvent, mut base: Row) -> Vec<Row> {
    let zone = billing_zone(&event.provider);
    let (start, end) = billing_day(event.ts, zone);
    base.set(Col::ChargePeriodStart, Value::Time(start));
    base.set(Col::ChargePeriodEnd, Value::Time(end));
    base.text(Col::ChargeFrequency, "One-Time");
    let note = event.metadata.extra.get_document("reconcile").ok();
    let basis = note.and_then(|n| n.get_str("basis").ok()).unwrap_or("list");
    let credit = note
        .and_then(|n| decimal(n, "credit"))
        .filter(|c| !c.is_zero());
    let amount = event.amount.unwrap_or_default();
    let day = start.with_timezone(&zone).date_naive();
    let mut rows = Vec::new();
    if let Some(credit) = credit {
        let mut row = base.clone();
        row.text(Col::ChargeCategory, "Credit");
        row.costs(Some(credit));
        row.text(
            Col::ChargeDescription,
            format!(
                "credits of the {} bill for {day}, this caller's share",
                event.provider
            ),
        );
        rows.push(row);
    }
    let mut row = base;
    row.text(Col::ChargeCategory, "Adjustment");
    row.costs(Some(amount - credit.unwrap_or_default()));
    row.text(
        Col::ChargeDescription,
        format!(
            "the {} bill for {day} ({basis} basis) minus panoptic's estimate, this caller's share",
            event.provider
        ),
    );
    rows.push(row);
    rows
}

/// One component of `metadata.price`.
struct Component {
    name: String,
    quantity: Decimal,
    unit_price: Decimal,
    per: Decimal,
    unit: String,
    amount: Decimal,
    effective: Option<String>,
}

/// The components of a price, when each is whole and they add up to the
/// amount exactly (else the rows would not sum to the event).
fn components(price: &Document, amount: Decimal) -> Option<Vec<Component>> {
    let mut found = Vec::new();
    for (name, value) in price.get_document("components").ok()? {
        let Bson::Document(c) = value else {
            return None;
        };
        let per = decimal(c, "per").filter(|p| !p.is_zero())?;
        found.push(Component {
            name: name.clone(),
            quantity: decimal(c, "quantity")?,
            unit_price: decimal(c, "unit_price")?,
            per,
            unit: c.get_str("unit").ok()?.to_owned(),
            amount: decimal(c, "amount")?,
            effective: c.get_str("effective").ok().map(str::to_owned),
        });
    }
    let sum: Decimal = found.iter().map(|c| c.amount).sum();
    (!found.is_empty() && sum == amount).then_some(found)
}

/// A number stored as Decimal128, a double, an integer or a string.
fn decimal(document: &Document, key: &str) -> Option<Decimal> {
    match document.get(key)? {
        Bson::Decimal128(d) => from_decimal128(*d).ok(),
        Bson::Int32(i) => Some(Decimal::from(*i)),
        Bson::Int64(i) => Some(Decimal::from(*i)),
        Bson::Double(f) => float_decimal(*f),
        Bson::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// A float as the decimal it prints as (the shortest that reads back the
/// same): `0.1` is 0.1.
fn float_decimal(value: f64) -> Option<Decimal> {
    if !value.is_finite() {
        return None;
    }
    let text = value.to_string();
    text.parse::<Decimal>()
        .ok()
        .or_else(|| Decimal::from_scientific(&format!("{value:e}")).ok())
}

/// Milliseconds measured to the nanosecond, without the float's noise.
fn nanosecond_millis(value: f64) -> Option<Decimal> {
    value
        .is_finite()
        .then(|| format!("{value:.6}").parse::<Decimal>().ok())
        .flatten()
        .map(|d| d.normalize())
}

/// `metadata.tags` as FOCUS's Key-Value Format: `team=data` becomes
/// `"team": "data"`; a tag without `=` is a key with a null value.
fn tags(list: &[String]) -> String {
    let mut object = Map::new();
    for tag in list {
        match tag.split_once('=') {
            Some((key, value)) => object.insert(key.to_owned(), Json::String(value.to_owned())),
            None => object.insert(tag.clone(), Json::Null),
        };
    }
    Json::Object(object).to_string()
}

/// The start of `day` in `zone`, as UTC (the earliest, if the zone's
/// clocks repeat midnight).
fn midnight(day: NaiveDate, zone: Tz) -> DateTime<Utc> {
    let local = day.and_hms_opt(0, 0, 0).expect("midnight exists");
    zone.from_local_datetime(&local)
        .earliest()
        .map_or_else(|| local.and_utc(), |t| t.with_timezone(&Utc))
}

/// The billing month of `ts` in `zone`: its first midnight and the next
/// month's, in UTC.
fn billing_month(ts: DateTime<Utc>, zone: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
    let local = ts.with_timezone(&zone).date_naive();
    let first = local.with_day(1).unwrap_or(local);
    let next = first.checked_add_months(Months::new(1)).unwrap_or(first);
    (midnight(first, zone), midnight(next, zone))
}

/// The day of `ts` in `zone`, from midnight to midnight, in UTC.
fn billing_day(ts: DateTime<Utc>, zone: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
    let day = ts.with_timezone(&zone).date_naive();
    let next = day.succ_opt().unwrap_or(day);
    (midnight(day, zone), midnight(next, zone))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn google_bills_by_the_pacific_month() {
        let ts = "2026-12-01T03:00:00Z".parse().unwrap();
        let (start, end) = billing_month(ts, Tz::America__Los_Angeles);
        // 03:00 UTC on the 1st is still November in California.
        assert_eq!(start.to_rfc3339(), "2026-11-01T07:00:00+00:00");
        assert_eq!(end.to_rfc3339(), "2026-12-01T08:00:00+00:00");
        let (start, end) = billing_month(ts, Tz::UTC);
        assert_eq!(start.to_rfc3339(), "2026-12-01T00:00:00+00:00");
        assert_eq!(end.to_rfc3339(), "2027-01-01T00:00:00+00:00");
    }

    #[test]
    fn tags_are_key_values() {
        let list = ["team=data".to_owned(), "nightly".to_owned()];
        let parsed: Json = serde_json::from_str(&tags(&list)).unwrap();
        assert_eq!(parsed, serde_json::json!({"team": "data", "nightly": null}));
    }

    #[test]
    fn floats_read_as_they_print() {
        assert_eq!(float_decimal(0.1).unwrap().to_string(), "0.1");
        assert_eq!(float_decimal(1200.0).unwrap().to_string(), "1200");
        assert_eq!(
            nanosecond_millis(0.0037960000000000003)
                .unwrap()
                .to_string(),
            "0.003796"
        );
    }
}
