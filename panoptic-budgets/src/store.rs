//! Budget state in MongoDB. Every change is one atomic operation on one
//! document: a reservation only succeeds while `remaining` covers it, so
//! processes on different hosts cannot overshoot together by more than
//! one reservation; an alert is claimed by inserting its `_id`, so it
//! fires once whoever crosses the threshold.
//!
//! A reservation is held and recorded in one write: the period document
//! keeps each one in flight under `open.{call_id}` (amount, currency,
//! expiry) beside the `reserved` it adds to, so a crash or a timeout
//! leaves either both or neither, and expiry finds everything held. The
//! write is conditional on the call not being held yet, so a retry never
//! holds twice; settle, release and expiry each take an entry out only
//! while it is there, so each gives back once. At most [`MAX_OPEN`]
//! reservations are in flight per period (the document stays far below
//! MongoDB's 16 MB).

use bson::{Bson, Document, doc};
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use mongodb::options::{FindOneAndUpdateOptions, ReturnDocument, UpdateOptions};
use mongodb::{Client, Collection};
use rust_decimal::Decimal;

use crate::BUDGET_DATABASE;
use crate::counting::Counting;
use crate::coverage::{self, Coverage};
use crate::define::Budget;
use crate::forecast::{Forecast, forecast};
use crate::period::PeriodKey;
use panoptic_core::BudgetExceeded;
use panoptic_core::money::{from_decimal128, to_decimal128};

/// A budget's state in one period.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetStatus {
    /// The budget.
    pub budget: Budget,
    /// The period now.
    pub period: PeriodKey,
    /// Settled spend.
    pub spent: Decimal,
    /// Held by calls in flight.
    pub reserved: Decimal,
    /// Reservations in flight (and not expired).
    pub open_reservations: u64,
    /// Spend per local day of the period, from its first day to today.
    pub daily: Vec<Decimal>,
    /// The projection (of `spent`: what it leaves out, `coverage` says).
    pub forecast: Forecast,
    /// What `spent` leaves out (another currency with no rate, unpriced
    /// calls) and what it converted, at which rates.
    pub coverage: Coverage,
}

impl BudgetStatus {
    /// What to read beside `spent`, one line each (empty when `spent`
    /// is the whole story): see [`Coverage::notes`].
    pub fn notes(&self) -> Vec<String> {
        self.coverage.notes(&self.budget.currency)
    }
}

/// Budget state in MongoDB.
#[derive(Clone)]
pub struct BudgetStore {
    budgets: Collection<Document>,
    periods: Collection<Document>,
    alerts: Collection<Document>,
}

fn error(e: mongodb::error::Error) -> String {
    panoptic_core::connect::describe(&e)
}

fn decimal(document: &Document, key: &str) -> Decimal {
    match document.get(key) {
        Some(Bson::Decimal128(d)) => from_decimal128(*d).unwrap_or_default(),
        Some(Bson::Int32(n)) => Decimal::from(*n),
        Some(Bson::Int64(n)) => Decimal::from(*n),
        _ => Decimal::ZERO,
    }
}

/// Reservations in flight per budget and period, at most: each is about
/// 100 bytes of the period document, which must stay below 16 MB.
pub const MAX_OPEN: i64 = 10_000;

/// The field of the period document that holds `call_id`'s reservation.
fn open_key(call_id: &str) -> String {
    format!("open.{call_id}")
}

/// A call id that can be a field name (no `.`, no leading `$`): the
/// broker's are ObjectId hex.
fn check_call_id(call_id: &str) -> Result<(), String> {
    if call_id.is_empty() || call_id.contains('.') || call_id.starts_with('$') {
        return Err(format!("`{call_id}` cannot name a reservation"));
    }
    Ok(())
}

/// MongoDB's duplicate-key error code.
const DUPLICATE_KEY: i32 = 11000;

/// Whether `e` is a duplicate key, by the server's error code (never by
/// the message's text, which a value in the key could contain).
fn is_duplicate(e: &mongodb::error::Error) -> bool {
    use mongodb::error::{ErrorKind, WriteFailure};
    match e.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(write)) => write.code == DUPLICATE_KEY,
        ErrorKind::Command(command) => command.code == DUPLICATE_KEY,
        ErrorKind::InsertMany(many) => many
            .write_errors
            .iter()
            .flatten()
            .any(|w| w.code == DUPLICATE_KEY),
        _ => false,
    }
}

impl BudgetStore {
    /// The store in `client`'s `panoptic_budgets` database.
    pub fn new(client: &Client) -> BudgetStore {
        let db = client.database(BUDGET_DATABASE);
        BudgetStore {
            budgets: db.collection("budgets"),
            periods: db.collection("periods"),
            alerts: db.collection("alerts"),
        }
    }

    /// The index that finds a budget's periods (a settlement whose
    /// reservation is in neither of the two periods near its end, status
    /// reads): without it each is a scan of every budget's periods.
    pub async fn ensure_indexes(&self) -> Result<(), String> {
        self.periods
            .create_index(
                mongodb::IndexModel::builder()
                    .keys(doc! { "budget": 1, "start": -1 })
                    .build(),
            )
            .await
            .map(|_| ())
            .map_err(error)
    }

    /// Creates or replaces a budget's definition.
    pub async fn set(&self, budget: &Budget) -> Result<(), String> {
        budget.validate().map_err(|e| e.0)?;
        let mut document = bson::to_document(budget).map_err(|e| e.to_string())?;
        document.insert("_id", budget.name.clone());
        self.budgets
            .replace_one(doc! { "_id": &budget.name }, document)
            .upsert(true)
            .await
            .map_err(error)?;
        Ok(())
    }

    /// Removes a budget's definition (its history stays). Returns whether
    /// it existed.
    pub async fn remove(&self, name: &str) -> Result<bool, String> {
        let deleted = self
            .budgets
            .delete_one(doc! { "_id": name })
            .await
            .map_err(error)?;
        Ok(deleted.deleted_count == 1)
    }

    /// Every budget defined in the database.
    pub async fn list(&self) -> Result<Vec<Budget>, String> {
        let documents: Vec<Document> = self
            .budgets
            .find(doc! {})
            .await
            .map_err(error)?
            .try_collect()
            .await
            .map_err(error)?;
        let mut budgets = Vec::with_capacity(documents.len());
        for mut document in documents {
            document.remove("_id");
            let budget: Budget = bson::from_document(document)
                .map_err(|e| format!("a stored budget cannot be read: {e}"))?;
            budgets.push(budget);
        }
        budgets.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(budgets)
    }

    /// The period document's id.
    pub fn period_id(budget: &Budget, key: &PeriodKey) -> String {
        format!("{}|{}", budget.name, key.name)
    }

    /// Makes sure the period's document exists, with the budget's limit.
    async fn open_period(&self, budget: &Budget, key: &PeriodKey) -> Result<String, String> {
        let id = Self::period_id(budget, key);
        let fresh = doc! {
            "budget": &budget.name,
            "period": &key.name,
            "start": bson::DateTime::from_chrono(key.start),
            "end": bson::DateTime::from_chrono(key.end),
            "limit": to_decimal128(budget.limit),
            "spent": to_decimal128(Decimal::ZERO),
            "reserved": to_decimal128(Decimal::ZERO),
            "remaining": to_decimal128(budget.limit),
            "open_count": 0_i64,
        };
        let result = self
            .periods
            .update_one(doc! { "_id": &id }, doc! { "$setOnInsert": fresh })
            .with_options(UpdateOptions::builder().upsert(true).build())
            .await;
        match result {
            // Two processes opening the same period: one insert wins.
            Err(e) if !is_duplicate(&e) => Err(error(e)),
            _ => Ok(id),
        }
    }

    /// Reserves `estimate` for the call `call_id`, if the period's
    /// remaining money covers it; else the refusal. Expired reservations
    /// of dead processes are released first when the money is short.
    pub async fn reserve(
        &self,
        budget: &Budget,
        call_id: &str,
        estimate: Decimal,
        now: DateTime<Utc>,
    ) -> Result<Result<String, BudgetExceeded>, String> {
        self.reserve_for(budget, call_id, estimate, &budget.currency, now)
            .await
    }

    /// [`reserve`](Self::reserve) for a call whose own currency is
    /// `currency` (its estimate already converted into the budget's): the
    /// reservation keeps it, so whoever reads it knows what it was for.
    ///
    /// One write while the period exists (the hold and its record, whole
    /// or not at all); the first reservation of a period opens it first.
    pub(crate) async fn reserve_for(
        &self,
        budget: &Budget,
        call_id: &str,
        estimate: Decimal,
        currency: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<String, BudgetExceeded>, String> {
        if estimate < Decimal::ZERO {
            // It would add to what the period has left.
            return Err(format!(
                "a negative estimate ({estimate}) cannot be reserved"
            ));
        }
        check_call_id(call_id)?;
        let zone = budget.zone().map_err(|e| e.0)?;
        let key = PeriodKey::of(budget.period, zone, now);
        let id = Self::period_id(budget, &key);
        let expires = now
            + chrono::Duration::seconds(budget.reservation_ttl_secs.min(i64::MAX as u64) as i64);
        let open = open_key(call_id);
        let hold = doc! {
            "$inc": {
                "reserved": to_decimal128(estimate),
                "remaining": to_decimal128(-estimate),
                "open_count": 1_i64,
            },
            "$set": { &open: {
                "amount": to_decimal128(estimate),
                "currency": currency,
                "expires": bson::DateTime::from_chrono(expires),
            } },
        };
        let filter = doc! {
            "_id": &id,
            "remaining": { "$gte": to_decimal128(estimate) },
            // Held once, however often the write is sent.
            &open: { "$exists": false },
            // A period opened before reservations were counted has none.
            "$or": [
                { "open_count": { "$exists": false } },
                { "open_count": { "$lt": MAX_OPEN } },
            ],
        };
        // Missing period, money short (expired reservations may free
        // some), then the refusal.
        for step in 0..3 {
            let taken = self
                .periods
                .update_one(filter.clone(), hold.clone())
                .await
                .map_err(error)?;
            if taken.matched_count == 1 {
                crate::faults::point("reserve:held");
                return Ok(Ok(id));
            }
            let period = self.period(&id).await?;
            if period.is_empty() && step == 0 {
                self.open_period(budget, &key).await?;
                continue;
            }
            if let Some(Bson::Document(held)) = period.get("open")
                && held.contains_key(call_id)
            {
                // An earlier send of this write was applied.
                return Ok(Ok(id));
            }
            if period.get_i64("open_count").unwrap_or(0) >= MAX_OPEN {
                return Err(format!(
                    "{MAX_OPEN} reservations in flight for `{id}`: no room for another"
                ));
            }
            if step == 2 || self.release_expired(&id, now).await? == 0 {
                return Ok(Err(BudgetExceeded {
                    budget: budget.name.clone(),
                    period: key.name,
                    limit: budget.limit,
                    committed: decimal(&period, "spent") + decimal(&period, "reserved"),
                    estimate,
                    unavailable: None,
                    unanswered: false,
                }));
            }
        }
        unreachable!("the last step returns")
    }

    /// The period document `period_id` (empty when it does not exist).
    async fn period(&self, period_id: &str) -> Result<Document, String> {
        let period = self
            .periods
            .find_one(doc! { "_id": period_id })
            .await
            .map_err(error)?;
        Ok(period.unwrap_or_default())
    }

    /// Releases the reservations of `period_id` that expired before `now`
    /// (their process died mid-call); returns how many.
    pub async fn release_expired(
        &self,
        period_id: &str,
        now: DateTime<Utc>,
    ) -> Result<u64, String> {
        let period = self.period(period_id).await?;
        let mut released = 0;
        for (call_id, held) in expired(&period, now) {
            if self
                .take(period_id, &call_id, held, Document::new(), None)
                .await?
                .is_some()
            {
                released += 1;
            }
        }
        Ok(released)
    }

    /// Takes `call_id`'s reservation of `held` out of the period
    /// `period_id`, giving it back in the same write as `update` (a
    /// spend's increments, or nothing), only while it is there: whoever
    /// takes it gives the money back, once. Returns the period after the
    /// change, or `None` when the reservation was not there.
    async fn take(
        &self,
        period_id: &str,
        call_id: &str,
        held: Decimal,
        mut update: Document,
        mark: Option<&Mark>,
    ) -> Result<Option<Document>, String> {
        let open = open_key(call_id);
        let mut filter = doc! { "_id": period_id, &open: { "$exists": true } };
        if let Some(mark) = mark {
            mark.apply(&mut filter, &mut update);
        }
        let mut increments = update.get_document("$inc").cloned().unwrap_or_default();
        let spent = decimal(&increments, "spent");
        increments.insert("reserved", to_decimal128(-held));
        increments.insert("remaining", to_decimal128(held - spent));
        increments.insert("open_count", -1_i64);
        update.insert("$inc", increments);
        update.insert("$unset", doc! { &open: "" });
        self.periods
            .find_one_and_update(filter, update)
            .with_options(
                FindOneAndUpdateOptions::builder()
                    .return_document(ReturnDocument::After)
                    .build(),
            )
            .await
            .map_err(error)
    }

    /// The period that holds `call_id`'s reservation of `budget`, if one
    /// does, and what it holds: the period of `at` or the one before it
    /// first (a call that crossed the boundary), then any of the budget's.
    /// The period comes with its `start`, not the rest.
    async fn holding(
        &self,
        budget: &Budget,
        call_id: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<(Document, Decimal)>, String> {
        check_call_id(call_id)?;
        let open = open_key(call_id);
        let near = Self::near(budget, at);
        for filter in [
            doc! { "_id": { "$in": near }, &open: { "$exists": true } },
            doc! { "budget": &budget.name, &open: { "$exists": true } },
        ] {
            let found = self
                .periods
                .find_one(filter)
                .projection(doc! { "_id": 1, "start": 1, &open: 1 })
                .await
                .map_err(error)?;
            if let Some(period) = found {
                let held = period
                    .get_document("open")
                    .and_then(|o| o.get_document(call_id))
                    .map(|entry| decimal(entry, "amount"))
                    .unwrap_or_default();
                return Ok(Some((period, held)));
            }
        }
        Ok(None)
    }

    /// The ids of the period of `at` and of the one before it: where a
    /// call that ended at `at` reserved.
    fn near(budget: &Budget, at: DateTime<Utc>) -> Vec<String> {
        let Ok(zone) = budget.zone() else {
            return Vec::new();
        };
        let key = PeriodKey::of(budget.period, zone, at);
        let before = PeriodKey::of(
            budget.period,
            zone,
            key.start - chrono::Duration::seconds(1),
        );
        vec![
            Self::period_id(budget, &key),
            Self::period_id(budget, &before),
        ]
    }

    /// Gives back what the call `call_id` holds in `budget`, unspent (a
    /// reservation answered after its caller gave up, or expired).
    /// Returns whether it held anything: releasing twice gives back once.
    pub async fn release(&self, budget: &Budget, call_id: &str) -> Result<bool, String> {
        let Some((period, held)) = self.holding(budget, call_id, Utc::now()).await? else {
            return Ok(false);
        };
        let id = period.get_str("_id").map_err(|e| e.to_string())?;
        Ok(self
            .take(id, call_id, held, Document::new(), None)
            .await?
            .is_some())
    }

    /// Settles a call: its reservation (if still held) is released and
    /// `actual` counted as spent on `day`. Returns the period document
    /// after the change.
    pub async fn settle(
        &self,
        budget: &Budget,
        call_id: Option<&str>,
        actual: Decimal,
        at: DateTime<Utc>,
    ) -> Result<Document, String> {
        let counting = Counting {
            counted: actual,
            ..Counting::default()
        };
        self.count(budget, call_id, &counting, at).await
    }

    /// Settles a call as [`settle`](Self::settle) does, with what it adds:
    /// `counting.counted` to `spent`, and beside it what was converted or
    /// left out and whether the call was unpriced (see [`Coverage`]).
    ///
    /// A call that held a reservation counts in the period it reserved in
    /// (on that period's last day when it ended after it), whenever it
    /// ends; its reservation is given back in the same write.
    pub(crate) async fn count(
        &self,
        budget: &Budget,
        call_id: Option<&str>,
        counting: &Counting,
        at: DateTime<Utc>,
    ) -> Result<Document, String> {
        self.count_marked(budget, call_id, counting, at, None).await
    }

    /// [`count`](Self::count), once for `mark`: the write that counts it
    /// also records it in the period, and a period that has it already
    /// is left as it is (a backlog counted again after an interruption).
    pub(crate) async fn count_marked(
        &self,
        budget: &Budget,
        call_id: Option<&str>,
        counting: &Counting,
        at: DateTime<Utc>,
        mark: Option<&Mark>,
    ) -> Result<Document, String> {
        let zone = budget.zone().map_err(|e| e.0)?;
        if let Some(call_id) = call_id
            && let Some((period, held)) = self.holding(budget, call_id, at).await?
        {
            let id = period.get_str("_id").map_err(|e| e.to_string())?;
            let key = PeriodKey::holding(budget.period, zone, &period, at);
            if let Some(after) = self
                .take(id, call_id, held, spend_update(counting, &key), mark)
                .await?
            {
                return Ok(after);
            }
            let period = self.period(id).await?;
            if mark.is_some_and(|m| m.counted_in(&period)) {
                return Ok(period);
            }
        }
        // Counted already, with its reservation, in the period before
        // (counted again after midnight: the reservation is gone, and
        // the period of `at` has no mark for it).
        if let (Some(_), Some(mark)) = (call_id, mark) {
            for id in Self::near(budget, at).iter().skip(1) {
                let period = self.period(id).await?;
                if mark.counted_in(&period) {
                    return Ok(period);
                }
            }
        }
        // Held by nobody (never held, or released or expired first): the
        // spend alone, in the period of `at`.
        let key = PeriodKey::of(budget.period, zone, at);
        let id = self.open_period(budget, &key).await?;
        let mut filter = doc! { "_id": &id };
        let mut update = spend_update(counting, &key);
        if let Some(mark) = mark {
            mark.apply(&mut filter, &mut update);
        }
        let updated = self
            .periods
            .find_one_and_update(filter, update)
            .with_options(
                FindOneAndUpdateOptions::builder()
                    .return_document(ReturnDocument::After)
                    .build(),
            )
            .await
            .map_err(error)?;
        match updated {
            Some(period) => Ok(period),
            // Counted already (the period exists: it was opened above).
            None if mark.is_some() => self.period(&id).await,
            None => Err(format!("budget period `{id}` vanished")),
        }
    }

    /// Claims the alert `threshold` (a percent, or `forecast`) of a
    /// period: true for the one process that gets to send it.
    pub async fn claim_alert(&self, period_id: &str, threshold: &str) -> Result<bool, String> {
        let inserted = self
            .alerts
            .insert_one(
                doc! { "_id": format!("{period_id}|{threshold}"), "at": bson::DateTime::now() },
            )
            .await;
        match inserted {
            Ok(_) => Ok(true),
            Err(e) if is_duplicate(&e) => Ok(false),
            Err(e) => Err(error(e)),
        }
    }

    /// A budget's state in the period that holds `now`, after releasing
    /// the reservations that expired (a write).
    pub async fn status(
        &self,
        budget: &Budget,
        now: DateTime<Utc>,
    ) -> Result<BudgetStatus, String> {
        self.state(budget, now, true).await
    }

    /// The same state read without writing (for a read-only dashboard):
    /// reservations that expired, whose processes died mid-call, are left
    /// out of `reserved` and `open_reservations` instead of released.
    pub async fn status_read_only(
        &self,
        budget: &Budget,
        now: DateTime<Utc>,
    ) -> Result<BudgetStatus, String> {
        self.state(budget, now, false).await
    }

    async fn state(
        &self,
        budget: &Budget,
        now: DateTime<Utc>,
        release: bool,
    ) -> Result<BudgetStatus, String> {
        let zone = budget.zone().map_err(|e| e.0)?;
        let key = PeriodKey::of(budget.period, zone, now);
        let id = Self::period_id(budget, &key);
        if release {
            self.release_expired(&id, now).await?;
        }
        let period = self.period(&id).await?;
        let open = period.get_document("open").map(Document::len).unwrap_or(0) as u64;
        let mut reserved = decimal(&period, "reserved");
        let mut open_reservations = open;
        if !release {
            // Expired (their processes died mid-call): still in the
            // document, left out here.
            let expired = expired(&period, now);
            let held: Decimal = expired.iter().map(|(_, amount)| *amount).sum();
            reserved = (reserved - held).max(Decimal::ZERO);
            open_reservations = open.saturating_sub(expired.len() as u64);
        }
        let days = period.get_document("days").cloned().unwrap_or_default();
        let daily: Vec<Decimal> = (0..key.days_elapsed())
            .map(|i| {
                let day = key.first_day + chrono::Days::new(u64::from(i));
                decimal(&days, &day.to_string())
            })
            .collect();
        let forecast = forecast(key.first_day, &daily, key.days(), budget.limit);
        Ok(BudgetStatus {
            budget: budget.clone(),
            spent: decimal(&period, "spent"),
            reserved,
            open_reservations,
            daily,
            forecast,
            coverage: Coverage::of(&period),
            period: key,
        })
    }
}

/// Entry `index` of the backlog batch `batch`: a period counts it only
/// while it has counted no later entry of that batch, and records it in
/// the same write (`batches.{batch}`: the index of the next entry).
pub(crate) struct Mark {
    pub(crate) batch: String,
    pub(crate) index: i64,
}

impl Mark {
    fn key(&self) -> String {
        format!("batches.{}", self.batch)
    }

    /// Adds the condition to `filter` and the record to `update`.
    fn apply(&self, filter: &mut Document, update: &mut Document) {
        let key = self.key();
        filter.insert(
            "$or",
            vec![
                Bson::Document(doc! { &key: { "$exists": false } }),
                Bson::Document(doc! { &key: { "$lte": self.index } }),
            ],
        );
        let mut set = update.get_document("$set").cloned().unwrap_or_default();
        set.insert(key, self.index + 1);
        update.insert("$set", set);
    }

    /// Whether `period` counted this entry already.
    fn counted_in(&self, period: &Document) -> bool {
        period
            .get_document("batches")
            .ok()
            .and_then(|b| b.get_i64(&self.batch).ok())
            .is_some_and(|next| next > self.index)
    }
}

/// What a settled call adds to its period: `counting` on `key`'s day.
fn spend_update(counting: &Counting, key: &PeriodKey) -> Document {
    let actual = counting.counted;
    let mut increments = doc! {
        "spent": to_decimal128(actual),
        "remaining": to_decimal128(-actual),
        format!("days.{}", key.today): to_decimal128(actual),
    };
    let mut update = Document::new();
    if let Some((currency, amount)) = &counting.uncounted {
        increments.insert(
            format!("{}.{currency}", coverage::keys::UNCOUNTED),
            to_decimal128(*amount),
        );
    }
    if let Some((currency, amount, rate)) = &counting.converted {
        increments.insert(
            format!("{}.{currency}", coverage::keys::CONVERTED),
            to_decimal128(*amount),
        );
        update.insert(
            "$addToSet",
            doc! { coverage::keys::RATES_APPLIED: rate.as_str() },
        );
    }
    if counting.unpriced {
        increments.insert(coverage::keys::UNPRICED_CALLS, 1_i64);
    }
    if counting.at_estimate {
        increments.insert(coverage::keys::CALLS_AT_ESTIMATE, 1_i64);
    }
    update.insert("$inc", increments);
    update
}

/// The reservations of a period document that expired before `now`:
/// call id and amount held.
fn expired(period: &Document, now: DateTime<Utc>) -> Vec<(String, Decimal)> {
    let now = bson::DateTime::from_chrono(now);
    let Ok(open) = period.get_document("open") else {
        return Vec::new();
    };
    open.iter()
        .filter_map(|(call_id, entry)| {
            let entry = entry.as_document()?;
            (entry.get_datetime("expires").ok()? < &now)
                .then(|| (call_id.clone(), decimal(entry, "amount")))
        })
        .collect()
}

/// Spent and limit of a period document.
pub(crate) fn spent_and_limit(period: &Document) -> (Decimal, Decimal) {
    (decimal(period, "spent"), decimal(period, "limit"))
}
