//! From an event to the document MongoDB stores and where it goes: the
//! writer's half of a call's journey (the caller's half is `call`).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use std::borrow::Cow;
use std::path::Path;

use bson::RawDocumentBuf;
use bson::oid::ObjectId;
use chrono::{DateTime, Utc};

use crate::call_event::{CallContext, CallEvent};
use crate::context::Context;
use crate::deliver::dead_letter::keep_dead_letter;
use crate::deliver::pricing::{Fields, price_call};
use crate::event::BillingEvent;
#[cfg(test)]
use crate::event::Metadata;
use crate::naming::{canonical_env, collection_name, database_name};
use crate::stats::Counters;
use bson::Bson;
use panoptic_catalog::Provider;

/// Where a document goes. Shared names: a route is cloned per event (the
/// handle's own are worked out once), and a clone must not allocate.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Route {
    /// `panoptic-{env}`.
    pub database: Arc<str>,
    /// `{provider}_{username}`.
    pub collection: Arc<str>,
}

impl Route {
    /// The route of events of `provider` for `username` in `env`.
    pub fn new(env: &str, provider: &str, username: &str) -> Route {
        Route {
            database: database_name(env).into(),
            collection: collection_name(provider, username).into(),
        }
    }

    /// The route of an event built from a slog record.
    pub fn of_event(event: &BillingEvent) -> Route {
        Route::new(&event.env, &event.provider, &event.username)
    }
}

/// A logged record's route and BSON bytes. A record that cannot be
/// encoded is kept as a dead letter instead; `Err` is the message to report.
pub(crate) fn record_document(
    event: BillingEvent,
    spool_dir: &Path,
    counters: &Counters,
) -> Result<(Route, RawDocumentBuf), String> {
    let route = Route::of_event(&event);
    let built = event.into_document();
    match RawDocumentBuf::from_document(&built) {
        Ok(document) => Ok((route, document)),
        Err(error) => Err(keep_dead_letter(
            spool_dir,
            counters,
            (&route.database, &route.collection),
            &built,
            &format!("cannot be encoded as BSON: {error}"),
        )),
    }
}

/// The handle's own context and, per provider, where its events go: worked
/// out once instead of per event.
pub(crate) struct Owner {
    pub context: Context,
    /// The context's env, canonical.
    env: String,
    routes: [Route; Provider::ALL.len()],
}

impl Owner {
    pub fn new(context: Context) -> Owner {
        let routes = Provider::ALL.map(|p| Route::new(&context.env, p.as_str(), &context.username));
        Owner {
            env: canonical_env(&context.env),
            context,
            routes,
        }
    }
}

/// The document of a finished call, encoded straight to BSON (static
/// facts copied from the site's bytes, who and where from the logger
/// context, numbers from the call), and a warning to report once when the
/// price book does not know what it used.
pub(crate) fn call_document(
    call: &CallEvent,
    owner: &Owner,
) -> (Route, RawDocumentBuf, Option<String>) {
    let mut facts = CallFacts::of(call, owner);
    let document = facts.encode(ObjectId::new());
    (facts.route, document, facts.warning.take())
}

/// What a call's document says beyond its site's static fields.
struct CallFacts<'a> {
    call: &'a CallEvent,
    route: Route,
    context: &'a Context,
    env: Cow<'a, str>,
    ts: DateTime<Utc>,
    duration_ms: f64,
    quantity: f64,
    unit: Cow<'a, str>,
    amount: Option<rust_decimal::Decimal>,
    /// The amount's: the price's when the book priced it, else the site's
    /// (`currency =`, for amounts the user gives).
    currency: Cow<'a, str>,
    /// Pricing facts, the call id and the budget, after the named fields.
    extra: Fields,
    warning: Option<String>,
}

impl<'a> CallFacts<'a> {
    fn of(call: &'a CallEvent, owner: &'a Owner) -> CallFacts<'a> {
        let site = call.site;
        let (context, route, env) = match &call.context {
            CallContext::Given(context) => {
                let env = canonical_env(&context.env);
                let route = Route::new(&env, site.provider.as_str(), &context.username);
                (context.as_ref(), route, Cow::Owned(env))
            }
            CallContext::Handle | CallContext::FromLogger => (
                &owner.context,
                owner.routes[site.provider.index()].clone(),
                Cow::Borrowed(owner.env.as_str()),
            ),
        };
        let extras = call.extras.as_deref();
        let ts = crate::clock::wall_clock(call.ended);
        let duration = call.duration();
        let mut pricing = price_call(site, extras, duration, ts.date_naive());
        let (quantity, unit) = match (extras.and_then(|e| e.quantity), pricing.quantity.take()) {
            (Some(given), _) => (given, Cow::Borrowed(site.unit)),
            (None, Some((total, unit))) => (total, Cow::Owned(unit)),
            (None, None) => (1.0, Cow::Borrowed(site.unit)),
        };
        if call.outcome == crate::event::Outcome::Refused {
            // Not run: it cost nothing, and that is known, not guessed.
            pricing.amount = Some(rust_decimal::Decimal::ZERO);
            pricing.metadata.remove(crate::keys::metadata::UNPRICED);
            pricing
                .metadata
                .set(crate::keys::metadata::PRICED_BY, "refused");
        }
        let mut extra = pricing.metadata;
        if let Some(call_id) = extras.and_then(|e| e.call_id.as_ref()) {
            extra.set(crate::keys::metadata::CALL_ID, Bson::from(call_id.clone()));
        }
        if let Some(policy) = extras.and_then(|e| e.budget_unanswered) {
            extra.set(crate::keys::metadata::BUDGET_UNANSWERED, Bson::from(policy));
        }
        for &(key, ref value) in call.notes.iter().flat_map(|notes| notes.iter()) {
            if !extra.has(key) {
                extra.set(key, Bson::from(value.as_str()));
            }
        }
        if let Some(reserved) = extras.and_then(|e| e.reservation.as_ref()) {
            extra.set("budget", Bson::from(reserved.budget.clone()));
            if pricing.amount.is_none() && reserved.held {
                // Its budget counts it at the estimate it reserved.
                extra.set(
                    "budget_settled_at",
                    Bson::from(crate::money::to_decimal128(reserved.estimate)),
                );
            }
        }
        CallFacts {
            call,
            route,
            context,
            env,
            ts,
            duration_ms: duration.as_secs_f64() * 1000.0,
            quantity,
            unit,
            amount: pricing.amount,
            currency: pricing
                .currency
                .map_or(Cow::Borrowed(site.currency), Cow::Owned),
            extra,
            warning: pricing.warning,
        }
    }

    /// The stored document, field for field what
    /// [`BillingEvent::into_document`] makes of the same call (a test
    /// holds the two to the byte).
    fn encode(&self, id: ObjectId) -> RawDocumentBuf {
        use crate::keys::{self, metadata as meta};
        use panoptic_spool::bson_bytes::*;
        let call = self.call;
        let site = call.site;
        let statics = site.encoded();
        let extras = call.extras.as_deref();
        // At most 16 KiB from the hint: one call's long error text must
        // not make every later buffer that large.
        let size_hint = statics.last_size.load(Ordering::Relaxed).min(16 * 1024);
        let mut out = Vec::with_capacity(size_hint.max(256 + statics.len()));
        // A text longer than BSON allows (2 GiB) cannot be stored; it
        // would be refused whole, so it is replaced by a note.
        let text = |out: &mut Vec<u8>, key: &str, value: &str| {
            if put_str(out, key, value).is_err() {
                let _ = put_str(out, key, "(text too long for BSON)");
            }
        };
        let document = begin_document(&mut out);
        put_object_id(&mut out, keys::ID, id);
        put_datetime(&mut out, keys::TS, self.ts.timestamp_millis());
        match &self.context.project_id {
            Some(project) => text(&mut out, keys::PROJECT_ID, project),
            None => put_null(&mut out, keys::PROJECT_ID),
        }
        text(&mut out, keys::ENV, &self.env);
        text(&mut out, keys::USERNAME, &self.context.username);
        out.extend_from_slice(&statics.head);
        text(&mut out, keys::OUTCOME, call.outcome.as_str());
        put_f64(&mut out, keys::QUANTITY, self.quantity);
        text(&mut out, keys::UNIT, &self.unit);
        if let Some(amount) = self.amount {
            put_decimal128(&mut out, keys::AMOUNT, crate::money::to_decimal128(amount));
        }
        text(&mut out, keys::CURRENCY, &self.currency);
        put_key(&mut out, 0x03, keys::METADATA);
        let metadata = begin_document(&mut out);
        out.extend_from_slice(&statics.names);
        put_f64(&mut out, meta::DURATION_MS, self.duration_ms);
        out.extend_from_slice(&statics.args_types);
        let user = extras.and_then(|e| e.user.as_deref());
        let request_id = extras.and_then(|e| e.request_id.as_deref());
        if let Some(user) = user {
            text(&mut out, meta::USER, user);
        }
        if let Some(request_id) = request_id {
            text(&mut out, meta::REQUEST_ID, request_id);
        }
        out.extend_from_slice(&statics.tags);
        if let Some(error) = &call.error {
            text(&mut out, meta::ERROR, error);
        }
        // A named field wins over an extra one of the same key.
        let named = |key: &str| {
            [
                meta::FUNCTION_NAME,
                meta::QUALIFIED_NAME,
                meta::MODULE_PATH,
                meta::DURATION_MS,
                meta::ARGS_TYPES,
                meta::TAGS,
            ]
            .contains(&key)
                || (key == meta::USER && user.is_some())
                || (key == meta::REQUEST_ID && request_id.is_some())
                || (key == meta::ERROR && call.error.is_some())
        };
        if !self.extra.is_empty() {
            let at = out.len();
            if self.extra.write(&mut out, named).is_err() {
                out.truncate(at);
                text(
                    &mut out,
                    "unencodable_metadata",
                    "a metadata value cannot be written as BSON",
                );
            }
        }
        let closed =
            end_document(&mut out, metadata).and_then(|_| end_document(&mut out, document));
        statics.last_size.store(out.len(), Ordering::Relaxed);
        match closed
            .ok()
            .and_then(|_| RawDocumentBuf::from_bytes(out).ok())
        {
            Some(document) => document,
            // Over 2 GiB in all: not storable, kept as what can be said.
            None => {
                let mut stub = RawDocumentBuf::new();
                stub.append(keys::ID, id);
                stub.append(keys::RESOURCE, site.names().resource.as_str());
                stub.append(meta::ERROR, "event too large for BSON");
                stub
            }
        }
    }

    /// The same document built the old way, through a [`BillingEvent`]:
    /// the reference the encoder is held to.
    #[cfg(test)]
    fn reference(&self, id: ObjectId) -> bson::Document {
        let site = self.call.site;
        let names = site.names();
        let extras = self.call.extras.as_deref();
        let event = BillingEvent {
            id,
            ts: self.ts,
            project_id: self.context.project_id.clone(),
            env: self.env.to_string(),
            username: self.context.username.clone(),
            category: site.category(),
            provider: site.provider.as_str().to_owned(),
            service: site.service.to_owned(),
            resource: names.resource.clone(),
            kind: site.kind,
            outcome: self.call.outcome,
            quantity: self.quantity,
            unit: self.unit.to_string(),
            amount: self.amount,
            currency: self.currency.to_string(),
            metadata: Metadata {
                function_name: Some(names.function_name.clone()),
                qualified_name: Some(names.qualified_name.clone()),
                module_path: Some(site.location.module.to_owned()),
                duration_ms: Some(self.duration_ms),
                args_types: site.args_types.iter().map(|t| (*t).to_owned()).collect(),
                user: extras.and_then(|e| e.user.clone()),
                request_id: extras.and_then(|e| e.request_id.clone()),
                tags: site.tags.iter().map(|t| (*t).to_owned()).collect(),
                error: self.call.error.as_deref().map(str::to_owned),
                extra: self.extra.clone().into_document(),
            },
        };
        event.into_document()
    }
}

#[cfg(test)]
mod tests;
