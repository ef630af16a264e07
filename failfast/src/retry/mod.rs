//! Retries with backoff that compose with the breaker: each attempt is a call through it, and
//! an open circuit stops the retrying at once rather than being retried into.
//!
//! A [`Retry`] is a policy (how many attempts, how long to wait between them, how long in all),
//! made once and shared. [`Retry::when`] says which errors to retry (and count against the
//! circuit), [`RetryWhen::when_ok`] which answers to retry (Tenacity's `retry_if_result`), and
//! [`RetryWhen::hint`] how to honour a dependency that says when to come back,
//! [`RetryWhen::before_attempt`] and [`RetryWhen::after_attempt`] what to tell of each attempt
//! (`log_before` and `log_after`, with the `tracing` feature, log them as Tenacity's
//! `before_log` and `after_log` do); then
//! [`call`](RetryWhen::call) runs a closure, or [`run`](RetryWhen::run) (feature `tokio`) a
//! future per attempt.
//!
//! ```
//! use std::time::Duration;
//! use failfast::{Breaker, TripPolicy};
//! use failfast::retry::{Retry, Wait};
//!
//! let breaker = Breaker::builder("inventory")
//!     .trip(TripPolicy::consecutive_failures(5))
//!     .build()?;
//! // Tenacity's @retry(stop=stop_after_attempt(3), wait=wait_fixed(0.01)).
//! let retry = Retry::builder()
//!     .attempts(3)
//!     .wait(Wait::fixed(Duration::from_millis(10)))
//!     .build()?;
//!
//! let mut calls = 0;
//! let stock = retry.call(&breaker, || {
//!     calls += 1;
//!     if calls < 3 { Err("busy") } else { Ok(42) }
//! });
//! assert_eq!(stock.unwrap(), 42);
//! assert_eq!(calls, 3);
//! # Ok::<(), failfast::ConfigError>(())
//! ```
//!
//! # With the circuit
//!
//! - Each attempt is one call through the breaker, counted as any other. So give the breaker
//!   room for a call's attempts: [`Breaker::new`](crate::Breaker::new) opens on the first
//!   failure, and a retry through it stops there. Trip it after at least as many failures in a
//!   row as a call has attempts (`TripPolicy::consecutive_failures(attempts)`, what
//!   `#[failfast(retry = N)]` does by itself), or on a failure rate.
//! - Once the circuit is open, retrying stops: the circuit is looked at after each attempt,
//!   and if it refuses calls there is no wait and no further attempt; the last error is
//!   returned. A circuit that another call opens during a wait refuses the next attempt (the
//!   call is not made), and that refusal is returned. [`RetryBuilder::wait_for_circuit`]
//!   allows waiting for the circuit to let calls through again, up to a bound.
//!   [`RetryError::stop_reason`] says why the retrying stopped.
//! - A [`RetryBudget`] (on by default) keeps retries to a share of each breaker's calls, so
//!   that retrying cannot multiply the load on a struggling dependency.
//! - Only the errors that [`when`](Retry::when) retries count as failures of the circuit; the
//!   others end the call at once, as with [`Breaker::call_if`](crate::Breaker::call_if).

mod budget;
mod error;
mod hooks;
mod schedule;
mod stop;
mod wait;
mod when;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::error::ConfigError;

pub(crate) use self::budget::Ledger;
pub use self::budget::RetryBudget;
pub use self::error::RetryError;
pub use self::hooks::{AfterAttempt, Attempt, AttemptHooks, BeforeAttempt, Hooks, NoHook};
#[cfg(feature = "tracing")]
pub use self::hooks::{log_after, log_before};
pub use self::stop::StopReason;
pub use self::wait::{Jitter, Wait};
pub use self::when::{
    AnyError, Hint, Limits, NoHint, NoLimits, NoValue, RetryOn, RetryOnValue, RetryWhen,
};

/// A retry policy: how many attempts, how long to wait before each retry, and how long to keep
/// trying in all. Made by [`Retry::builder`]; cheap to clone. By default: three attempts,
/// waiting 100 ms then 200 ms (doubling, at most 10 s), no time limit, no waiting for an open
/// circuit, and the default [`RetryBudget`].
#[derive(Clone)]
pub struct Retry {
    attempts: u32,
    max_elapsed: Option<Duration>,
    wait: Wait,
    /// The longest wait a hint may ask for; by default the wait's longest.
    max_hint: Option<Duration>,
    wait_for_circuit: Duration,
    budget: RetryBudget,
    sleep: Option<Arc<dyn Fn(Duration) + Send + Sync>>,
}

impl fmt::Debug for Retry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Retry")
            .field("attempts", &self.attempts)
            .field("max_elapsed", &self.max_elapsed)
            .field("wait", &self.wait)
            .field("max_hint", &self.max_hint)
            .field("wait_for_circuit", &self.wait_for_circuit)
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

impl Default for Retry {
    /// Three attempts, with [`Wait::default`] between them (100 ms, then 200 ms), no time limit,
    /// no waiting for an open circuit, and [`RetryBudget::default`] (retries at most 20% of a
    /// breaker's calls, plus 10 a second).
    fn default() -> Self {
        Retry {
            attempts: 3,
            max_elapsed: None,
            wait: Wait::default(),
            max_hint: None,
            wait_for_circuit: Duration::ZERO,
            budget: RetryBudget::default(),
            sleep: None,
        }
    }
}

impl Retry {
    /// A policy whose settings the `#[failfast]` macro checked when it compiled them.
    pub(crate) fn checked_by_macro(
        attempts: u32,
        wait: Wait,
        max_elapsed: Option<Duration>,
        wait_for_circuit: Duration,
    ) -> Retry {
        Retry {
            attempts: attempts.max(1),
            max_elapsed,
            wait,
            wait_for_circuit,
            ..Retry::default()
        }
    }

    /// A builder, starting from [`Retry::default`].
    pub fn builder() -> RetryBuilder {
        RetryBuilder {
            retry: Retry::default(),
        }
    }

    /// The number of attempts, the first included.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// This policy, retrying only the errors for which `retry_on` is true. The others end the
    /// call at once and do not count against the circuit.
    pub fn when<W>(&self, retry_on: W) -> RetryWhen<'_, W, NoValue, NoHint> {
        RetryWhen::new(self, retry_on)
    }

    /// This policy, retrying every error, with each attempt given `limit` to finish (async
    /// only). See [`RetryWhen::call_timeout`].
    #[cfg(feature = "tokio")]
    pub fn call_timeout(
        &self,
        limit: Duration,
    ) -> RetryWhen<'_, AnyError, NoValue, NoHint, Limits> {
        self.when(AnyError).call_timeout(limit)
    }

    /// Calls `call` through `breaker` until it succeeds, retrying every error, or until the
    /// policy gives up. Waits sleep the thread. See [`RetryWhen::call`].
    #[inline]
    pub fn call<T, E, F>(&self, breaker: &crate::Breaker, call: F) -> Result<T, RetryError<E>>
    where
        F: FnMut() -> Result<T, E>,
    {
        self.when(AnyError).call(breaker, call)
    }

    /// Runs the future `attempt` makes through `breaker` until it succeeds, retrying every
    /// error, or until the policy gives up. Waits are tokio sleeps. See [`RetryWhen::run`].
    #[cfg(feature = "tokio")]
    pub async fn run<T, E, F, Fut>(
        &self,
        breaker: &crate::Breaker,
        attempt: F,
    ) -> Result<T, RetryError<E>>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, E>>,
    {
        self.when(AnyError).run(breaker, attempt).await
    }

    /// Sleeps the thread for `wait`, or hands it to the sleeper the builder was given.
    fn sleep(&self, wait: Duration) {
        match &self.sleep {
            Some(sleep) => sleep(wait),
            None => std::thread::sleep(wait),
        }
    }
}

/// Builds a [`Retry`]; from [`Retry::builder`].
#[derive(Debug, Clone)]
pub struct RetryBuilder {
    retry: Retry,
}

impl RetryBuilder {
    /// Stops after `attempts` attempts, the first included (at least 1). Default 3.
    pub fn attempts(mut self, attempts: u32) -> Self {
        self.retry.attempts = attempts;
        self
    }

    /// Stops when the next attempt would start more than `budget` after the first one started,
    /// waits included. An attempt under way is not cut short. No limit by default.
    pub fn max_elapsed(mut self, budget: Duration) -> Self {
        self.retry.max_elapsed = Some(budget);
        self
    }

    /// How long to wait before each retry. Default [`Wait::default`].
    pub fn wait(mut self, wait: Wait) -> Self {
        self.retry.wait = wait;
        self
    }

    /// Honours a dependency's [hint](RetryWhen::hint) of up to `longest`; a longer one ends the
    /// retrying ([`StopReason::HintTooLong`]). By default, the longest wait of
    /// [`wait`](Self::wait): with `Wait::fixed(100 ms)`, a `Retry-After: 1` would end it, so a
    /// policy that honours hints of a rate limit says how long it will wait for one.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::retry::{Retry, Wait};
    /// // Retry server errors after 100 ms; honour a 429's Retry-After of up to 5 s.
    /// let retry = Retry::builder()
    ///     .wait(Wait::fixed(Duration::from_millis(100)))
    ///     .max_hint(Duration::from_secs(5))
    ///     .build()?;
    /// # let _ = retry;
    /// # Ok::<(), failfast::ConfigError>(())
    /// ```
    pub fn max_hint(mut self, longest: Duration) -> Self {
        self.retry.max_hint = Some(longest);
        self
    }

    /// Allows waiting, up to `bound` in all, for an open circuit to let calls through again,
    /// rather than giving up when it opens. Default zero: retrying stops when it opens.
    pub fn wait_for_circuit(mut self, bound: Duration) -> Self {
        self.retry.wait_for_circuit = bound;
        self
    }

    /// Limits the retries through each breaker. Default [`RetryBudget::default`].
    pub fn budget(mut self, budget: RetryBudget) -> Self {
        self.retry.budget = budget;
        self
    }

    /// Hands the waits of [`call`](RetryWhen::call) to `sleep` instead of sleeping the thread:
    /// for tests and simulations (advance a [`ManualClock`](crate::ManualClock), say).
    pub fn sleep_with(mut self, sleep: impl Fn(Duration) + Send + Sync + 'static) -> Self {
        self.retry.sleep = Some(Arc::new(sleep));
        self
    }

    /// The policy, or a [`ConfigError`] naming the setting that is out of range.
    ///
    /// ```
    /// use failfast::retry::Retry;
    /// let error = Retry::builder().attempts(0).build().unwrap_err();
    /// assert_eq!(error.to_string(), "invalid `attempts`: must be at least 1, got 0");
    /// ```
    pub fn build(self) -> Result<Retry, ConfigError> {
        if self.retry.attempts == 0 {
            return Err(ConfigError::new("attempts", "at least 1", 0));
        }
        self.retry.wait.validate()?;
        self.retry.budget.validate()?;
        Ok(self.retry)
    }
}
