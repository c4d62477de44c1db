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

/// What the driver (3.x) says when nothing listens at the address.
const SELECTION: &str = "Server selection timeout: No available servers. Topology: { Type: \
    Unknown, Servers: [ { Address: 127.0.0.1:1, Type: Unknown, Error: Kind: I/O error: \
    Connection refused (os error 111), labels: {} }, { Address: db2:27018, Type: Unknown, \
    Error: Kind: I/O error: Connection refused (os error 111), labels: {} } ] }";

#[test]
fn a_selection_timeout_names_each_server_and_its_error_not_the_topology() {
    let named = server_selection(SELECTION, true);
    assert_eq!(
        named,
        "127.0.0.1:1: I/O error: Connection refused (os error 111); \
         db2:27018: I/O error: Connection refused (os error 111)"
    );
    // Without the addresses, one error said once.
    assert_eq!(
        server_selection(SELECTION, false),
        "I/O error: Connection refused (os error 111)"
    );
    // No server yet, or another wording: the first sentence.
    let empty = "Server selection timeout: No available servers. Topology: { Type: Unknown }";
    assert_eq!(
        server_selection(empty, true),
        "no server answered: Server selection timeout: No available servers"
    );
    assert_eq!(server_selection("went wrong", false), "went wrong");
}

#[test]
fn hosts_leave_out_credentials_database_and_options() {
    assert_eq!(hosts("mongodb://127.0.0.1:1/?w=1"), "127.0.0.1:1");
    assert_eq!(hosts("mongodb://bob:p@ss@a:1,b:2/db"), "a:1,b:2");
    assert_eq!(
        hosts("mongodb+srv://u:p@cluster.example.net"),
        "cluster.example.net"
    );
    assert_eq!(hosts("mongodb:///"), "(no host)");
    let settings = MongoSettings::parse("mongodb://bob:s3cret@a:1,b/x").unwrap();
    assert_eq!(settings.hosts(), "a:1,b:27017");
}

#[test]
fn unanswered_is_one_line_with_where_and_what_to_try_never_the_password() {
    let line = unanswered(
        "mongodb://bob:s3cret@db:27017/?authSource=admin",
        "bad s3cret\nsecond line Topology: { Type: Unknown }",
    );
    assert_eq!(
        line,
        "MongoDB at db:27017 did not answer (bad *****); \
         is it running? check MONGODB_URI or --mongodb-uri"
    );
}

#[tokio::test]
async fn a_ping_to_a_closed_port_is_one_line_that_says_what_to_try() {
    // Bound, then dropped: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let settings = MongoSettings::parse(&format!("mongodb://bob:s3cret@127.0.0.1:{port}/"))
        .unwrap()
        .timeout(Duration::from_millis(300));
    let error = settings.ping().await.err().unwrap();
    assert_eq!(error.lines().count(), 1, "{error}");
    assert!(
        error.starts_with(&format!("MongoDB at 127.0.0.1:{port} did not answer (")),
        "{error}"
    );
    assert!(error.ends_with(WHAT_TO_TRY), "{error}");
    for dump in ["Topology", "Servers:", "Kind:", "s3cret"] {
        assert!(!error.contains(dump), "{error}");
    }
}
