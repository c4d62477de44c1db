//! Bounded exponential backoff with jitter for retryable Google API errors.

use std::future::Future;
use std::time::Duration;

use super::error::Error;

/// How failed requests are retried.
///
/// ```
/// use panoptic_gcp::rest::RetryPolicy;
/// use std::time::Duration;
///
/// let p = RetryPolicy { max_retries: 3, initial: Duration::from_millis(100), max_delay: Duration::from_secs(2) };
/// // Retry n waits initial × 2^n plus up to `initial` of jitter, capped at max_delay.
/// assert!(p.delay(0) >= Duration::from_millis(100));
/// assert!(p.delay(10) <= Duration::from_secs(2));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0: never retry).
    pub max_retries: u32,
    /// The least wait before the first retry (each next one doubles it).
    pub initial: Duration,
    /// The largest wait between two attempts.
    pub max_delay: Duration,
}

/// Google's back-off requirement (the BigQuery SLA's): at least 1 s
/// before the first retry, growing exponentially to at most 32 s.
impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 5,
            initial: Duration::from_secs(1),
            max_delay: Duration::from_secs(32),
        }
    }
}

impl RetryPolicy {
    /// No retries.
    pub const NONE: RetryPolicy = RetryPolicy {
        max_retries: 0,
        initial: Duration::ZERO,
        max_delay: Duration::ZERO,
    };

    /// The wait before retry `attempt` (0-based): `initial × 2^attempt`
    /// plus a uniform random time up to `initial`, capped at `max_delay`:
    /// never less than Google asks, and many clients backing off at once
    /// do not retry in step.
    pub fn delay(&self, attempt: u32) -> Duration {
        let floor = self
            .initial
            .saturating_mul(1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX));
        let jitter_nanos = u64::try_from(self.initial.as_nanos()).unwrap_or(u64::MAX);
        let jitter = Duration::from_nanos(fastrand::u64(0..=jitter_nanos));
        floor.saturating_add(jitter).min(self.max_delay)
    }

    /// Runs `op` until it succeeds, fails with a non-retryable error, or
    /// the retries are used up; `on_retry` sees each retried error.
    pub async fn run<T, F, Fut>(
        &self,
        mut op: F,
        mut on_retry: impl FnMut(&Error, u32),
    ) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let mut attempt = 0;
        loop {
            match op().await {
                Ok(value) => return Ok(value),
                Err(e) if e.is_retryable() && attempt < self.max_retries => {
                    on_retry(&e, attempt);
                    tokio::time::sleep(self.delay(attempt)).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rest::ApiError;

    #[test]
    fn delays_grow_within_their_ceiling() {
        let p = RetryPolicy {
            max_retries: 10,
            initial: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
        };
        for _ in 0..100 {
            let first = p.delay(0);
            assert!((Duration::from_millis(10)..=Duration::from_millis(20)).contains(&first));
            let third = p.delay(2);
            assert!((Duration::from_millis(40)..=Duration::from_millis(50)).contains(&third));
            assert_eq!(p.delay(30), Duration::from_millis(50));
        }
        // Google's: 1 s at least, then 2, 4, … up to 32 s.
        let google = RetryPolicy::default();
        assert!(google.delay(0) >= Duration::from_secs(1));
        assert!(google.delay(4) >= Duration::from_secs(16));
        assert_eq!(google.delay(6), Duration::from_secs(32));
        assert_eq!(RetryPolicy::NONE.delay(3), Duration::ZERO);
    }

    /// How many times `policy` runs an operation that always fails with
    /// an API error of `status`.
    async fn attempts(policy: RetryPolicy, status: u16) -> u32 {
        let mut calls = 0;
        let r: Result<(), Error> = policy
            .run(
                || {
                    calls += 1;
                    async move { Err(Error::Api(ApiError::from_body(status, ""))) }
                },
                |_, _| {},
            )
            .await;
        assert!(r.is_err());
        calls
    }

    #[tokio::test]
    async fn retries_are_bounded_and_only_for_retryable_errors() {
        let p = RetryPolicy {
            max_retries: 2,
            initial: Duration::ZERO,
            max_delay: Duration::ZERO,
        };
        assert_eq!(attempts(p, 503).await, 3);
        assert_eq!(attempts(p, 400).await, 1);
    }
}
