use super::*;

use std::time::Duration;

use std::sync::Arc;
use std::sync::OnceLock;

use crate::call_event::CallExtras;
use crate::event::{Kind, Outcome};
use crate::site::{CallSite, SiteCache};

fn locate() -> &'static str {
    "app::jobs::Reports::nightly::__panoptic_locate"
}

static PLAIN: CallSite = CallSite {
    provider: Provider::Gcp,
    service: "BigQuery",
    category: None,
    resource: None,
    function_name: "nightly",
    locate,
    args_types: &[],
    kind: Kind::Invoice,
    unit: "call",
    currency: "USD",
    tags: &[],
    location: slog::RecordLocation {
        file: "src/jobs.rs",
        line: 1,
        column: 1,
        function: "",
        module: "app::jobs",
    },
    names: OnceLock::new(),
    cache: SiteCache::new(),
};

static FULL: CallSite = CallSite {
    provider: Provider::OpenAi,
    service: "ChatCompletions",
    category: Some(crate::event::Category::Ai),
    resource: Some("summarise"),
    function_name: "nightly",
    locate,
    args_types: &["&str", "Vec<u8>"],
    kind: Kind::TokenUsage,
    unit: "tokens",
    currency: "USD",
    tags: &["batch", "nightly"],
    location: slog::RecordLocation {
        file: "src/jobs.rs",
        line: 9,
        column: 5,
        function: "",
        module: "app::jobs",
    },
    names: OnceLock::new(),
    cache: SiteCache::new(),
};

fn call(site: &'static CallSite, context: CallContext, extras: Option<CallExtras>) -> CallEvent {
    let started = crate::clock::now();
    CallEvent {
        site,
        context,
        ended: started + Duration::from_micros(1_234_567),
        started,
        outcome: Outcome::Ok,
        error: None,
        extras: extras.map(Arc::new),
        notes: None,
    }
}

/// The encoder writes, byte for byte, what the `BillingEvent` path
/// writes for the same call: the stored schema did not move.
#[test]
fn encoded_calls_match_the_built_documents_byte_for_byte() {
    let owner = Owner::new(Context {
        username: "ann".into(),
        project_id: None,
        env: "Production".into(),
        ..Context::default()
    });
    let given = Arc::new(Context {
        username: "bob".into(),
        project_id: Some("p-1".into()),
        env: "stage".into(),
        ..Context::default()
    });
    let usage = panoptic_prices::Usage::new("gpt-4o-mini")
        .with("input", rust_decimal::Decimal::from(800))
        .with("output", rust_decimal::Decimal::from(500));
    let mut failed = call(&FULL, CallContext::Given(Arc::clone(&given)), None);
    failed.outcome = Outcome::Error;
    failed.error = Some(Arc::from("quota exceeded"));
    let mut refused = call(&PLAIN, CallContext::Handle, None);
    refused.outcome = Outcome::Refused;
    let calls = [
        call(&PLAIN, CallContext::Handle, None),
        call(&PLAIN, CallContext::FromLogger, None),
        failed,
        refused,
        call(
            &FULL,
            CallContext::Handle,
            Some(CallExtras {
                quantity: Some(2.5),
                amount: Some(rust_decimal::Decimal::new(12_345, 4)),
                user: Some("u-7".into()),
                request_id: Some("r-9".into()),
                call_id: Some("c-1".into()),
                ..CallExtras::default()
            }),
        ),
        call(
            &FULL,
            CallContext::Given(given),
            Some(CallExtras {
                usage: Some(usage),
                reservation: Some(crate::budget_hook::Reserved {
                    budget: "team".into(),
                    call_id: "c-2".into(),
                    estimate: rust_decimal::Decimal::new(5, 2),
                    currency: "USD".into(),
                    held: true,
                    settled: false,
                    unanswered: false,
                }),
                budget_unanswered: Some("fail_open"),
                ..CallExtras::default()
            }),
        ),
    ];
    for (n, call) in calls.iter().enumerate() {
        let facts = CallFacts::of(call, &owner);
        let id = ObjectId::new();
        let encoded = facts.encode(id);
        let built = RawDocumentBuf::from_document(&facts.reference(id)).unwrap();
        assert_eq!(
            encoded.to_document().unwrap(),
            built.to_document().unwrap(),
            "call {n}"
        );
        assert_eq!(
            encoded.as_bytes(),
            built.as_bytes(),
            "call {n}: field order"
        );
    }
}

/// An extra metadata field named like a standard one does not replace it.
#[test]
fn named_metadata_fields_win_over_extras() {
    let owner = Owner::new(Context {
        username: "ann".into(),
        env: "dev".into(),
        ..Context::default()
    });
    let event = call(&PLAIN, CallContext::Handle, None);
    let mut facts = CallFacts::of(&event, &owner);
    facts.extra.set("function_name", "spoofed");
    facts.extra.set("user", "kept: no user was given");
    let id = ObjectId::new();
    let encoded = facts.encode(id).to_document().unwrap();
    let metadata = encoded.get_document("metadata").unwrap();
    assert_eq!(metadata.get_str("function_name").unwrap(), "nightly");
    assert_eq!(metadata.get_str("user").unwrap(), "kept: no user was given");
    let built = RawDocumentBuf::from_document(&facts.reference(id)).unwrap();
    assert_eq!(encoded, built.to_document().unwrap());
}
