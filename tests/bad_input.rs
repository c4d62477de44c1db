//! Hostile input: usernames, envs, tags and metadata with arbitrary
//! unicode, NUL, `$`-prefixed and dotted keys are stored faithfully (keys
//! made storable) or refused with a clear error; never a panic, never a
//! document that MongoDB refuses silently.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};

use bson::{Bson, doc};
use panoptic::{Panoptic, Provider};
use proptest::prelude::*;

/// What the drain stores for a metadata key: `$` at the start, `.` and NUL
/// become `_` (MongoDB would refuse or misread them), nothing else changes.
fn stored_key(key: &str) -> String {
    let replaced = key.replace(['.', '\0'], "_");
    match replaced.strip_prefix('$') {
        Some(rest) => format!("_{rest}"),
        None if replaced.is_empty() => "_".to_owned(),
        None => replaced,
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME.get_or_init(|| tokio::runtime::Runtime::new().unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn stored_faithfully_or_refused_clearly(
        username in "\\PC{0,40}|[\\x00-\\x7f]{0,40}|\\$[a-z.]{0,10}",
        env in "\\PC{0,30}",
        // Starts with a character no field name starts with, so it always
        // lands in metadata.
        key in "[$.\\x00éz][$.a-zA-Z\\x00é]{0,11}",
        value in "\\PC{0,60}|.*\\x00.*",
        tags in proptest::collection::vec("[^|]{0,12}", 0..4),
    ) {
        static CASE: AtomicU64 = AtomicU64::new(0);
        let resource = format!("case-{}-{}", std::process::id(), CASE.fetch_add(1, Ordering::Relaxed));
        let built = Panoptic::builder()
            .username(&username)
            .env(&env)
            .mongodb_uri(common::mongodb_uri())
            .spool_dir(common::temp_dir("bad-input"))
            .build();
        let panoptic = match built {
            Ok(p) => p,
            Err(error) => {
                // Refused: only a blank username may be, and it says why.
                prop_assert!(username.trim().is_empty(), "unexpected refusal: {}", error);
                prop_assert!(error.to_string().contains("username"));
                return Ok(());
            }
        };
        let log = panoptic.logger(Provider::UserDefined, "Hostile");
        let key: &'static str = Box::leak(key.into_boxed_str());
        let joined_tags = tags.join(" | ");
        panoptic::invoice!(log, "hostile"; "resource" => &resource, key => &value, "tags" => &joined_tags);
        prop_assert!(panoptic.flush());
        let stats = panoptic.stats();
        prop_assert_eq!(stats.failed, 0, "MongoDB refused a document: {:?}", stats.last_error);
        prop_assert_eq!(stats.written, 1, "{:?}", stats);

        let database = panoptic.database_name();
        let collection = panoptic::naming::collection_name("user_defined", &username);
        let found = runtime().block_on(async {
            common::client().await
                .database(&database)
                .collection::<bson::Document>(&collection)
                .find_one(doc! { "resource": &resource })
                .await
                .unwrap()
        });
        let document = found.expect("the event is stored");
        let event = panoptic::BillingEvent::from_document(&document).unwrap();
        prop_assert_eq!(&event.username, &username);
        prop_assert_eq!(&event.env, &panoptic::naming::canonical_env(&env));
        let expected_tags: Vec<String> = tags.iter().map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()).collect();
        prop_assert_eq!(&event.metadata.tags, &expected_tags);
        let stored = document.get_document("metadata").unwrap().get(stored_key(key));
        prop_assert_eq!(stored, Some(&Bson::String(value.clone())));
    }
}
