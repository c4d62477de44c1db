//! From an event to the document MongoDB stores and where it goes: the
//! writer's half of a call's journey (the caller's half is `call`).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use bson::Document;
use bson::oid::ObjectId;
use chrono::{DateTime, Utc};

use crate::call_event::{CallContext, CallEvent};
use crate::context::Context;
use crate::event::{BillingEvent, Metadata};
use crate::naming::{canonical_env, collection_name, database_name};
use crate::pricing::price_call;
use panoptic_catalog::Provider;

/// Where a document goes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Route {
    /// `panoptic-{env}`.
    pub database: String,
    /// `{provider}_{username}`.
    pub collection: String,
}

impl Route {
    /// The route of events of `provider` for `username` in `env`.
    pub fn new(env: &str, provider: &str, username: &str) -> Route {
        Route {
            database: database_name(env),
            collection: collection_name(provider, username),
        }
    }

    /// The route of an event built from a slog record.
    pub fn of_event(event: &BillingEvent) -> Route {
        Route::new(&event.env, &event.provider, &event.username)
    }
}

/// The handle's own context and, per provider, where its events go: worked
/// out once instead of per event.
pub(crate) struct Owner {
    pub context: Context,
    routes: [Route; Provider::ALL.len()],
}

impl Owner {
    pub fn new(context: Context) -> Owner {
        let routes = Provider::ALL.map(|p| Route::new(&context.env, p.as_str(), &context.username));
        Owner { context, routes }
    }
}

/// The document of a finished call: static facts from the site, who and
/// where from the logger context, numbers from the call.
/// The document of a finished call, and a warning to report once when the
/// price book does not know what it used.
pub(crate) fn call_document(call: &CallEvent, owner: &Owner) -> (Route, Document, Option<String>) {
    let site = call.site;
    let names = site.names();
    let (context, route) = match &call.context {
        CallContext::Given(context) => {
            let env = canonical_env(&context.env);
            let route = Route::new(&env, site.provider.as_str(), &context.username);
            (context.as_ref(), route)
        }
        CallContext::Handle | CallContext::FromLogger => {
            (&owner.context, owner.routes[site.provider.index()].clone())
        }
    };
    let extras = call.extras.as_deref();
    let ts = wall_clock(call.ended);
    let mut pricing = price_call(site, extras, call.duration, ts.date_naive());
    let (quantity, unit) = match (extras.and_then(|e| e.quantity), pricing.quantity.take()) {
        (Some(given), _) => (given, site.unit.to_owned()),
        (None, Some((total, unit))) => (total, unit),
        (None, None) => (1.0, site.unit.to_owned()),
    };
    if call.outcome == crate::event::Outcome::Refused {
        // Not run: it cost nothing, and that is known, not guessed.
        pricing.amount = Some(rust_decimal::Decimal::ZERO);
        pricing.metadata.remove(crate::keys::metadata::UNPRICED);
        pricing
            .metadata
            .insert(crate::keys::metadata::PRICED_BY, "refused");
    }
    let mut extra = pricing.metadata;
    if let Some(call_id) = extras.and_then(|e| e.call_id.as_ref()) {
        extra.insert(crate::keys::metadata::CALL_ID, call_id.clone());
    }
    if let Some(reserved) = extras.and_then(|e| e.reservation.as_ref()) {
        extra.insert("budget", reserved.budget.clone());
        if pricing.amount.is_none() && reserved.held {
            // Its budget counts it at the estimate it reserved.
            extra.insert(
                "budget_settled_at",
                crate::money::to_decimal128(reserved.estimate),
            );
        }
    }
    let event = BillingEvent {
        id: ObjectId::new(),
        ts,
        project_id: context.project_id.clone(),
        env: canonical_env(&context.env),
        username: context.username.clone(),
        category: site.category(),
        provider: site.provider.as_str().to_owned(),
        service: site.service.to_owned(),
        resource: names.resource.clone(),
        kind: site.kind,
        outcome: call.outcome,
        quantity,
        unit,
        amount: pricing.amount,
        currency: site.currency.to_owned(),
        metadata: Metadata {
            function_name: Some(names.function_name.clone()),
            qualified_name: Some(names.qualified_name.clone()),
            module_path: Some(site.location.module.to_owned()),
            duration_ms: Some(call.duration.as_secs_f64() * 1000.0),
            args_types: site.args_types.iter().map(|t| (*t).to_owned()).collect(),
            user: extras.and_then(|e| e.user.clone()),
            request_id: extras.and_then(|e| e.request_id.clone()),
            tags: site.tags.iter().map(|t| (*t).to_owned()).collect(),
            error: call.error.as_deref().map(str::to_owned),
            extra,
        },
    };
    (route, event.into_document(), pricing.warning)
}

/// The UTC time of an `Instant`, against an anchor (a wall-clock and a
/// monotonic reading taken together) renewed every second, so the two
/// clocks cannot drift apart noticeably. Called by the writer, not the
/// caller, which saves every annotated call a wall-clock read.
pub(crate) fn wall_clock(at: Instant) -> DateTime<Utc> {
    static ANCHOR: Mutex<Option<(DateTime<Utc>, Instant)>> = Mutex::new(None);
    let mut anchor = ANCHOR
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let now = Instant::now();
    let (wall, mono) = match *anchor {
        Some((wall, mono)) if now.duration_since(mono) < Duration::from_secs(1) => (wall, mono),
        _ => {
            let fresh = (Utc::now(), now);
            *anchor = Some(fresh);
            fresh
        }
    };
    let offset = |d: Duration| chrono::Duration::from_std(d).unwrap_or_default();
    if at >= mono {
        wall + offset(at - mono)
    } else {
        wall - offset(mono - at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_clock_of_an_instant() {
        let before = Utc::now();
        let at = Instant::now();
        let wall = wall_clock(at);
        let after = Utc::now();
        assert!(before <= wall && wall <= after, "{before} {wall} {after}");
        let earlier = wall_clock(at - Duration::from_millis(250));
        assert_eq!(wall - earlier, chrono::Duration::milliseconds(250));
    }
}
