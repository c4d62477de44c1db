//! Budget state in MongoDB. Every change is one atomic operation on one
//! document: a reservation only succeeds while `remaining` covers it, so
//! processes on different hosts cannot overshoot together by more than
//! one reservation; an alert is claimed by inserting its `_id`, so it
//! fires once whoever crosses the threshold.

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
    reservations: Collection<Document>,
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
            reservations: db.collection("reservations"),
            alerts: db.collection("alerts"),
        }
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
        let zone = budget.zone().map_err(|e| e.0)?;
        let key = PeriodKey::of(budget.period, zone, now);
        let id = self.open_period(budget, &key).await?;
        for attempt in 0..2 {
            let taken = self
                .periods
                .update_one(
                    doc! { "_id": &id, "remaining": { "$gte": to_decimal128(estimate) } },
                    doc! { "$inc": {
                        "reserved": to_decimal128(estimate),
                        "remaining": to_decimal128(-estimate),
                    } },
                )
                .await
                .map_err(error)?;
            if taken.matched_count == 1 {
                let expires = now
                    + chrono::Duration::seconds(
                        budget.reservation_ttl_secs.min(i64::MAX as u64) as i64
                    );
                self.reservations
                    .insert_one(doc! {
                        "_id": call_id,
                        "period_id": &id,
                        "budget": &budget.name,
                        "amount": to_decimal128(estimate),
                        "currency": currency,
                        "expires": bson::DateTime::from_chrono(expires),
                    })
                    .await
                    .map_err(error)?;
                return Ok(Ok(id));
            }
            if attempt == 0 && self.release_expired(&id, now).await? == 0 {
                break;
            }
        }
        let period = self.period(&id).await?;
        Ok(Err(BudgetExceeded {
            budget: budget.name.clone(),
            period: key.name,
            limit: budget.limit,
            committed: decimal(&period, "spent") + decimal(&period, "reserved"),
            estimate,
            unavailable: None,
            unanswered: false,
        }))
    }

    /// The period document `period_id` (empty before anything is spent in it).
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
        let expired: Vec<Document> = self
            .reservations
            .find(doc! { "period_id": period_id, "expires": { "$lt": bson::DateTime::from_chrono(now) } })
            .await
            .map_err(error)?
            .try_collect()
            .await
            .map_err(error)?;
        let mut released = 0;
        for reservation in expired {
            let Some(Bson::String(call_id)) = reservation.get("_id") else {
                continue;
            };
            if self.release(call_id).await? {
                released += 1;
            }
        }
        Ok(released)
    }

    /// Gives back what the call `call_id` holds, unspent (a reservation
    /// answered after its caller gave up, or expired). Returns whether it
    /// held anything: releasing twice gives back once.
    pub async fn release(&self, call_id: &str) -> Result<bool, String> {
        // Deleting is the lock: whoever deletes it gives the money back.
        let Some(reservation) = self
            .reservations
            .find_one_and_delete(doc! { "_id": call_id })
            .await
            .map_err(error)?
        else {
            return Ok(false);
        };
        let Some(Bson::String(period_id)) = reservation.get("period_id") else {
            return Ok(false);
        };
        let amount = decimal(&reservation, "amount");
        self.periods
            .update_one(
                doc! { "_id": period_id },
                doc! { "$inc": {
                    "reserved": to_decimal128(-amount),
                    "remaining": to_decimal128(amount),
                } },
            )
            .await
            .map_err(error)?;
        Ok(true)
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
    pub(crate) async fn count(
        &self,
        budget: &Budget,
        call_id: Option<&str>,
        counting: &Counting,
        at: DateTime<Utc>,
    ) -> Result<Document, String> {
        let actual = counting.counted;
        let zone = budget.zone().map_err(|e| e.0)?;
        let key = PeriodKey::of(budget.period, zone, at);
        let mut held = Decimal::ZERO;
        let mut id = Self::period_id(budget, &key);
        if let Some(call_id) = call_id
            && let Some(reservation) = self
                .reservations
                .find_one_and_delete(doc! { "_id": call_id })
                .await
                .map_err(error)?
        {
            held = decimal(&reservation, "amount");
            if let Some(Bson::String(period)) = reservation.get("period_id") {
                id = period.clone();
            }
        } else {
            id = self.open_period(budget, &key).await?;
        }
        let day = format!("days.{}", key.today);
        let mut increments = doc! {
            "reserved": to_decimal128(-held),
            "spent": to_decimal128(actual),
            "remaining": to_decimal128(held - actual),
            day: to_decimal128(actual),
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
        let updated = self
            .periods
            .find_one_and_update(doc! { "_id": &id }, update)
            .with_options(
                FindOneAndUpdateOptions::builder()
                    .return_document(ReturnDocument::After)
                    .build(),
            )
            .await
            .map_err(error)?;
        updated.ok_or_else(|| format!("budget period `{id}` vanished"))
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
        // Released above, or still in the document but left out here.
        let open = if release {
            doc! { "period_id": &id }
        } else {
            doc! { "period_id": &id, "expires": { "$gte": bson::DateTime::from_chrono(now) } }
        };
        let open_reservations = self
            .reservations
            .count_documents(open)
            .await
            .map_err(error)?;
        let mut reserved = decimal(&period, "reserved");
        if !release {
            let expired: Vec<Document> = self
                .reservations
                .find(doc! { "period_id": &id, "expires": { "$lt": bson::DateTime::from_chrono(now) } })
                .await
                .map_err(error)?
                .try_collect()
                .await
                .map_err(error)?;
            let held: Decimal = expired.iter().map(|r| decimal(r, "amount")).sum();
            reserved = (reserved - held).max(Decimal::ZERO);
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

/// Spent and limit of a period document.
pub(crate) fn spent_and_limit(period: &Document) -> (Decimal, Decimal) {
    (decimal(period, "spent"), decimal(period, "limit"))
}
