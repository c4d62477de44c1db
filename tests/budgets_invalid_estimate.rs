//! An estimate no budget can hold is refused before the call, whatever
//! the budget's mode and policy: a negative one would add to what the
//! budget has left, a NaN or infinite one has no amount. The refusal
//! says why.

mod common;

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

use panoptic::budget::{Budget, FailurePolicy, Mode, Period};
use panoptic::{Decimal, billable};

type StepError = common::call_error::CallError<&'static str>;

static RAN: AtomicU64 = AtomicU64::new(0);

#[billable(
    provider = "user_defined",
    service = "Estimates",
    budget = "estimates",
    estimate = estimate,
    amount = 0.01
)]
fn step(estimate: f64) -> Result<(), StepError> {
    RAN.fetch_add(1, Ordering::SeqCst);
    Ok(())
}

#[test]
fn negative_and_non_finite_estimates_are_refused_with_a_clear_error() {
    let server = common::TestServer::start();
    let env = common::unique_env("estimates");
    // Observe and fail-open: the refusal is not the budget's doing.
    let _guard = common::builder(&env)
        .mongodb_uri(server.uri())
        .budget(
            Budget::new("estimates", Period::Day, Decimal::from_str("10").unwrap())
                .provider("user_defined")
                .mode(Mode::Observe)
                .on_unavailable(FailurePolicy::FailOpen),
        )
        .install()
        .unwrap();
    for (estimate, says) in [
        (-0.10, "is negative"),
        (f64::NAN, "not a finite number"),
        (f64::INFINITY, "not a finite number"),
    ] {
        match step(estimate) {
            Err(StepError::OverBudget(refused)) => {
                let text = refused.to_string();
                assert!(text.contains(says), "{estimate}: {text}");
                assert!(text.contains("at least 0"), "{estimate}: {text}");
            }
            other => panic!("{estimate}: expected a refusal, got {other:?}"),
        }
    }
    assert_eq!(RAN.load(Ordering::SeqCst), 0);
    assert!(step(0.0).is_ok());
    assert!(step(0.25).is_ok());
    assert_eq!(RAN.load(Ordering::SeqCst), 2);
}
