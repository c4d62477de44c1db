use super::*;

#[test]
#[allow(clippy::needless_borrow)]
fn outcome_probe_sees_through_aliases() {
    type Fallible<T> = Result<T, std::io::Error>;
    let failed: Fallible<u8> = Err(std::io::Error::other("disk on fire"));
    assert_eq!(
        (&&&&OutcomeProbe(&failed)).panoptic_outcome(),
        (Outcome::Error, Some("disk on fire".to_owned()))
    );
    #[derive(Debug)]
    struct NoDisplay;
    let r: Result<(), NoDisplay> = Err(NoDisplay);
    assert_eq!(
        (&&&&OutcomeProbe(&r)).panoptic_outcome().1.as_deref(),
        Some("NoDisplay")
    );
    struct Opaque;
    let r: Result<(), Opaque> = Err(Opaque);
    assert!(
        (&&&&OutcomeProbe(&r))
            .panoptic_outcome()
            .1
            .unwrap()
            .ends_with("Opaque")
    );
    assert_eq!(
        (&&&&OutcomeProbe(&5u8)).panoptic_outcome(),
        (Outcome::Ok, None)
    );
}
