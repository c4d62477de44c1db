use super::*;
use proptest::prelude::*;

#[test]
fn seed_examples() {
    assert_eq!(
        collection_name("Google Cloud (GCP)", "John Doe"),
        "google_cloud_gcp_john_doe"
    );
    assert_eq!(collection_name("aws", "acme_corp"), "aws_acme_corp");
    assert_eq!(database_name("production"), "panoptic-prod");
    assert_eq!(database_name("development"), "panoptic-dev");
    assert_eq!(database_name("dev"), "panoptic-dev");
}

#[test]
fn hostile_inputs() {
    for user in [
        "$where",
        "a.b.c",
        "\0",
        "",
        "___",
        "system.users",
        "ünïcödé",
    ] {
        let name = collection_name("gcp", user);
        assert!(is_valid_collection_name(&name), "{user:?} -> {name:?}");
    }
    let long = "x".repeat(500);
    let a = collection_name("gcp", &long);
    let b = collection_name("gcp", &format!("{long}y"));
    assert!(a.len() <= MAX_COLLECTION_LEN);
    assert_ne!(a, b, "long names sharing a prefix must not collide");
    assert_eq!(collection_name("gcp", ""), collection_name("gcp", ""));
    assert_ne!(
        collection_name("gcp", "日本"),
        collection_name("gcp", "中国")
    );
}

proptest! {
    #[test]
    fn any_input_gives_valid_names(provider in any::<String>(), user in any::<String>(), env in any::<String>()) {
        let coll = collection_name(&provider, &user);
        prop_assert!(is_valid_collection_name(&coll), "{:?}", coll);
        prop_assert!(coll.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'));
        prop_assert!(!coll.starts_with('_') && !coll.ends_with('_'));
        let db = database_name(&env);
        prop_assert!(is_valid_database_name(&db), "{:?}", db);
        prop_assert_eq!(collection_name(&provider, &user), coll);
    }
}
