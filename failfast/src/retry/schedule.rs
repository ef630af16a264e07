//! When to retry and how long to wait first: the decisions the sync and async runners share.

use std::time::Duration;

use super::Retry;
use crate::breaker::Breaker;

/// What comes after an attempt that may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Wait this long, then make the next attempt.
    RetryAfter(Duration),
    /// Give up: return the last attempt's outcome.
    Stop,
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
            previous_wait: retry.wait.min(),
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

    /// Counts an attempt about to be made.
    pub(crate) fn start_attempt(&mut self) {
        self.attempts += 1;
    }

    /// The attempts made so far.
    pub(crate) fn attempts(&self) -> u32 {
        self.attempts
    }

    /// After an attempt through `breaker` whose outcome may be retried: `hint` is how long the dependency asked
    /// to wait, if it did; `refusing` how long the circuit will refuse calls, if it does now;
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
            return Next::Stop;
        }
        if hint.is_some_and(|hint| hint > self.retry.wait.max()) {
            // Asked to come back later than the policy ever waits: give up now rather than
            // hold the caller (a hostile or broken `Retry-After` could say a year).
            return Next::Stop;
        }
        let mut wait = hint.unwrap_or_else(|| {
            self.retry
                .wait
                .next(self.attempts, self.previous_wait, fastrand::f64)
        });
        if let Some(retry_in) = refusing {
            // Any attempt before the circuit lets calls through again would be refused.
            if retry_in > self.circuit_wait_left {
                return Next::Stop;
            }
            self.circuit_wait_left -= retry_in;
            wait = wait.max(retry_in);
        }
        if let Some(elapsed) = elapsed {
            let next_start = elapsed.saturating_add(wait);
            if self
                .retry
                .max_elapsed
                .is_some_and(|budget| next_start > budget)
                || self.deadline.is_some_and(|deadline| next_start >= deadline)
            {
                return Next::Stop;
            }
        }
        if !self.retry.budget.withdraw(breaker) {
            return Next::Stop;
        }
        self.previous_wait = wait;
        Next::RetryAfter(wait)
    }
}
