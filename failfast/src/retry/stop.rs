//! Why a retried call made no more attempts: [`StopReason`].

use std::fmt;

/// Why a retried call made no more attempts: seen by
/// [`after_attempt`](super::RetryWhen::after_attempt) hooks on the last attempt, and kept by
/// [`RetryError`](super::RetryError).
///
/// ```
/// use std::time::Duration;
/// use failfast::Breaker;
/// use failfast::retry::{Retry, StopReason, Wait};
///
/// let breaker = Breaker::builder("search")
///     .trip(failfast::TripPolicy::consecutive_failures(2))
///     .build()?;
/// let retry = Retry::builder().attempts(5).wait(Wait::fixed(Duration::ZERO)).build()?;
/// let error = retry.call(&breaker, || Err::<(), _>("down")).unwrap_err();
/// // Two failures opened the circuit: no attempt went into it.
/// assert_eq!(error.attempts(), 2);
/// assert_eq!(error.stop_reason(), StopReason::CircuitOpen);
/// # Ok::<(), failfast::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StopReason {
    /// The outcome is not one to retry: an answer, or an error that
    /// [`when`](super::Retry::when) does not retry (a 404, say).
    NotRetryable,
    /// Every attempt the policy allows was made.
    Attempts,
    /// Another attempt would start past the policy's time budget
    /// ([`max_elapsed`](super::RetryBuilder::max_elapsed)) or the call's
    /// [`deadline`](super::RetryWhen::deadline).
    TimeLimit,
    /// The circuit is open, and waiting for it is not allowed, or would take longer than
    /// [`wait_for_circuit`](super::RetryBuilder::wait_for_circuit) allows.
    CircuitOpen,
    /// The breaker's [`RetryBudget`](super::RetryBudget) is spent: more retries would multiply
    /// the load on a struggling dependency.
    Budget,
    /// The dependency asked to wait ([`hint`](super::RetryWhen::hint)) longer than the policy
    /// waits at most.
    HintTooLong,
}

impl fmt::Display for StopReason {
    /// In words: `every attempt was made`, `the retry budget is spent`, ...
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StopReason::NotRetryable => "not one to retry",
            StopReason::Attempts => "every attempt was made",
            StopReason::TimeLimit => "the time limit would be passed",
            StopReason::CircuitOpen => "the circuit is open",
            StopReason::Budget => "the retry budget is spent",
            StopReason::HintTooLong => "asked to wait longer than the policy waits",
        })
    }
}
