use super::*;

fn concern(d: Durability) -> bson::Document {
    bson::to_document(&d.write_concern()).unwrap()
}

#[test]
fn durable_by_default_and_each_choice_says_what_it_asks() {
    assert_eq!(Durability::default(), Durability::Journaled);
    assert_eq!(concern(Durability::Journaled), doc! { "w": 1, "j": true });
    assert_eq!(
        concern(Durability::Majority),
        doc! { "w": "majority", "j": true }
    );
    assert_eq!(concern(Durability::Acknowledged), doc! { "w": 1 });
}

async fn options_for(uri: &str, durability: Durability) -> ClientOptions {
    let settings = MongoSettings::parse(uri).unwrap().durability(durability);
    let parsed = ClientOptions::parse(uri).await.unwrap();
    settings.options(parsed)
}

fn written(options: &ClientOptions) -> bson::Document {
    bson::to_document(options.write_concern.as_ref().unwrap()).unwrap()
}

#[tokio::test]
async fn the_uri_write_concern_wins_over_the_builders() {
    let majority = options_for(
        "mongodb://127.0.0.1:1/?w=majority&journal=false",
        Durability::Acknowledged,
    )
    .await;
    assert_eq!(written(&majority), doc! { "w": "majority", "j": false });
    let two = options_for("mongodb://127.0.0.1:1/?w=2", Durability::Journaled).await;
    assert_eq!(written(&two), doc! { "w": 2 });
    // Only a timeout in the URI: the durability fills w and j.
    let timeout = options_for(
        "mongodb://127.0.0.1:1/?wtimeoutMS=500",
        Durability::Majority,
    )
    .await;
    let concern = timeout.write_concern.unwrap();
    assert_eq!(concern.w, Some(Acknowledgment::Majority));
    assert_eq!(concern.journal, Some(true));
    assert_eq!(concern.w_timeout, Some(Duration::from_millis(500)));
    let silent = options_for("mongodb://127.0.0.1:1/", Durability::Majority).await;
    assert_eq!(written(&silent), doc! { "w": "majority", "j": true });
}

#[tokio::test]
async fn the_uri_app_name_wins_and_the_server_timeout_is_ours() {
    let options = options_for(
        "mongodb://127.0.0.1:1/?appName=mine&serverSelectionTimeoutMS=30000",
        Durability::Journaled,
    )
    .await;
    assert_eq!(options.app_name.as_deref(), Some("mine"));
    assert_eq!(
        options.server_selection_timeout,
        Some(Duration::from_secs(2))
    );
    let ours = options_for("mongodb://127.0.0.1:1/", Durability::Journaled).await;
    assert_eq!(ours.app_name.as_deref(), Some("panoptic"));
    assert_eq!(ours.server_selection_timeout, Some(Duration::from_secs(2)));
}

#[test]
fn a_bad_uri_is_one_line_without_its_password() {
    let error = MongoSettings::parse("mongodb://bob:s3cret@/x?w=")
        .err()
        .unwrap();
    assert!(!error.contains("s3cret"), "{error}");
    assert_eq!(error.lines().count(), 1, "{error}");
}
