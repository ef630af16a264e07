//! When to retry and how long to wait first: the decisions the sync and async runners share.

use std::time::Duration;

use super::{Retry, StopReason};
use crate::breaker::Breaker;

/// What comes after an attempt that may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Wait this long, then make the next attempt.
    RetryAfter(Duration),
    /// Give up, for this reason: return the last attempt's outcome.
    Stop(StopReason),
}

/// The attempts of one retried call so far.
#[derive(Debug)]
pub(crate) struct Schedule<'r> {
    retry: &'r Retry,
    attempts: u32,
    previous_wait: Duration,
    circuit_wait_left: Duration,
    /// When the whole call must have ended, if it must.
    deadline: Option<Duration>,
}

impl<'r> Schedule<'r> {
    pub(crate) fn new(retry: &'r Retry) -> Self {
        Schedule {
            retry,
            attempts: 0,
            previous_wait: retry.wait.nominal(1),
            circuit_wait_left: retry.wait_for_circuit,
            deadline: None,
        }
    }

    /// No attempt starts at or after `deadline`, if there is one.
    #[cfg(feature = "tokio")]
    pub(crate) fn with_deadline(mut self, deadline: Option<Duration>) -> Self {
        self.deadline = deadline;
        self
    }

    /// Whether `elapsed` into the call, no attempt may start: past the time budget, or at or
    /// past the deadline.
    pub(crate) fn is_past_limits(&self, elapsed: Duration) -> bool {
        self.retry
            .max_elapsed
            .is_some_and(|budget| elapsed > budget)
            || self.deadline.is_some_and(|deadline| elapsed >= deadline)
    }

    /// Counts an attempt about to be made.
    pub(crate) fn start_attempt(&mut self) {
        self.attempts += 1;
    }

    /// The attempts made so far.
    pub(crate) fn attempts(&self) -> u32 {
        self.attempts
    }

    /// After an attempt through `breaker` whose outcome may be retried: `hint` is how long the
    /// dependency asked to wait, if it did; `refusing` how long the circuit will refuse calls, if it does now;
    /// `elapsed` the time since the first attempt started, if the call has a time limit (it is
    /// read only then: reading a clock would cost a call that succeeds at once).
    pub(crate) fn after_attempt(
        &mut self,
        breaker: &Breaker,
        hint: Option<Duration>,
        refusing: Option<Duration>,
        elapsed: Option<Duration>,
    ) -> Next {
        if self.attempts >= self.retry.attempts {
            return Next::Stop(StopReason::Attempts);
        }
        let max_hint = self.retry.max_hint.unwrap_or_else(|| self.retry.wait.max());
        if hint.is_some_and(|hint| hint > max_hint) {
            // Asked to come back later than the policy ever waits: give up now rather than
            // hold the caller (a hostile or broken `Retry-After` could say a year).
            return Next::Stop(StopReason::HintTooLong);
        }
        let mut wait = hint.unwrap_or_else(|| {
            self.retry
                .wait
                .next(self.attempts, self.previous_wait, fastrand::f64)
        });
        if let Some(retry_in) = refusing {
            // Any attempt before the circuit lets calls through again would be refused. The
            // wait is charged whole, so that refusals that say "retry now" (probe permits all
            // held) use the bound up too.
            wait = wait.max(retry_in);
            // A refusal that says "retry now" (a store whose probe token is held elsewhere),
            // with no wait of the policy's, would be retried back to back, each attempt refused
            // again, and never use the bound up: give up instead.
            if wait.is_zero() || self.circuit_wait_left.is_zero() || wait > self.circuit_wait_left {
                return Next::Stop(StopReason::CircuitOpen);
            }
            self.circuit_wait_left -= wait;
        }
        if elapsed.is_some_and(|elapsed| self.is_past_limits(elapsed.saturating_add(wait))) {
            return Next::Stop(StopReason::TimeLimit);
        }
        if !self.retry.budget.withdraw(breaker) {
            return Next::Stop(StopReason::Budget);
        }
        self.previous_wait = wait;
        Next::RetryAfter(wait)
    }
}
