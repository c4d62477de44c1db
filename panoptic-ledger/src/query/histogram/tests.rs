use super::*;

#[test]
fn percentiles_within_one_percent() {
    let mut histogram = BTreeMap::new();
    for d in 1..=100 {
        *histogram.entry(duration_bucket(f64::from(d))).or_default() += 1;
    }
    let p50 = percentile(&histogram, 0.5).unwrap();
    let p95 = percentile(&histogram, 0.95).unwrap();
    assert!((p50 / 50.0 - 1.0).abs() < 0.01, "{p50}");
    assert!((p95 / 95.0 - 1.0).abs() < 0.01, "{p95}");
    assert_eq!(percentile(&BTreeMap::new(), 0.5), None);
    assert_eq!(
        duration_bucket(0.0),
        duration_bucket(0.0005),
        "tiny durations share a bucket"
    );
}
