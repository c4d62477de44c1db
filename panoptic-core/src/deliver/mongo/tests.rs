use super::*;

#[test]
fn duplicates_on_id_only() {
    assert!(is_id_duplicate(
        "E11000 duplicate key error collection: panoptic-dev.gcp_ann index: _id_ dup key: { _id: ObjectId('65a') }"
    ));
    assert!(!is_id_duplicate(
        "E11000 duplicate key error collection: panoptic-dev.gcp_ann index: resource_1 dup key: { resource: \"x\" }"
    ));
}

#[test]
fn write_errors_are_sorted() {
    let id_dup = "E11000 duplicate key error collection: d.c index: _id_ dup key: { _id: 1 }";
    let other_dup = "E11000 duplicate key error collection: d.c index: u_1 dup key: { u: 1 }";
    let outcome = sort_write_errors(
        5,
        [
            (0, 11000, id_dup),
            (1, 11000, other_dup),
            (2, 91, "shutting down"),
            (3, 2, "bad value"),
        ],
        None,
    );
    let InsertOutcome::Answered {
        written,
        duplicates,
        retry,
        rejected,
    } = outcome
    else {
        panic!("{outcome:?}");
    };
    assert_eq!((written, duplicates), (1, 1));
    assert_eq!(retry, [2]);
    assert_eq!(rejected.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [1, 3]);
}

#[tokio::test(flavor = "current_thread")]
async fn bounded_operations_stop() {
    let forever = std::future::pending::<()>();
    let cut = bounded(forever, Duration::from_millis(30), &|| false).await;
    assert_eq!(cut, Err(Cut::TimedOut));
    let stop = std::sync::atomic::AtomicBool::new(true);
    let cut = bounded(
        std::future::pending::<()>(),
        Duration::from_secs(60),
        &|| stop.load(std::sync::atomic::Ordering::Relaxed),
    )
    .await;
    assert_eq!(cut, Err(Cut::Interrupted));
    assert_eq!(
        bounded(async { 7 }, Duration::from_secs(1), &|| true).await,
        Ok(7)
    );
}
