use super::*;
use rust_decimal::Decimal;

struct Reply(u32);
impl Metered for Reply {
    fn usage(&self) -> Option<Usage> {
        Some(Usage::new("m").with("input", Decimal::from(self.0)))
    }
}

#[test]
#[allow(clippy::needless_borrow)]
fn usage_probe_sees_values_and_oks() {
    type Fallible<T> = Result<T, String>;
    let ok: Fallible<Reply> = Ok(Reply(7));
    let usage = (&&&UsageProbe(&ok)).panoptic_usage().unwrap();
    assert_eq!(usage.quantities[0].amount, Decimal::from(7));
    let err: Fallible<Reply> = Err("no".into());
    assert!((&&&UsageProbe(&err)).panoptic_usage().is_none());
    assert!((&&&UsageProbe(&Reply(3))).panoptic_usage().is_some());
    assert!((&&&UsageProbe(&5u8)).panoptic_usage().is_none());
    let plain: Result<u8, ()> = Ok(1);
    assert!((&&&UsageProbe(&plain)).panoptic_usage().is_none());
}
