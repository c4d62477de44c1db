use super::*;

#[test]
fn readings_advance_with_the_monotonic_clock() {
    let (call_start, std_start) = (now(), std::time::Instant::now());
    std::thread::sleep(Duration::from_millis(50));
    let (call_end, std_end) = (now(), std::time::Instant::now());
    let by_call = call_end - call_start;
    let by_std = std_end - std_start;
    // The two pairs of reads are not simultaneous: 1 ms of slack.
    let apart = by_call.abs_diff(by_std);
    assert!(apart < Duration::from_millis(1), "{by_call:?} {by_std:?}");
    assert!(by_call >= Duration::from_millis(49), "{by_call:?}");
}

#[test]
fn wall_clock_of_a_reading() {
    let before = Utc::now();
    let at = now();
    let wall = wall_clock(at);
    let after = Utc::now();
    // The anchor's two clock reads are not simultaneous (another test
    // may have set it a moment ago): a few ms of slack, not seconds.
    let slack = chrono::Duration::milliseconds(5);
    assert!(
        before - slack <= wall && wall <= after + slack,
        "{before} {wall} {after}"
    );
    let earlier = wall_clock(at - Duration::from_millis(250));
    assert_eq!(wall - earlier, chrono::Duration::milliseconds(250));
}
