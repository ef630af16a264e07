//! What a retried call tells of each attempt: hooks before and after it (Tenacity's
//! `before`/`after`/`before_sleep`), and ready-made `tracing` logs of them.

use std::time::Duration;

use super::StopReason;
use crate::error::Error;
use crate::name::Name;

/// One attempt of a retried call, as [`RetryWhen::after_attempt`](super::RetryWhen::after_attempt)
/// hooks see it.
#[derive(Debug)]
pub struct Attempt<'a, T, E> {
    /// The attempt's number: 1 for the first.
    pub number: u32,
    /// The circuit it went through.
    pub circuit: &'a Name,
    /// What it came to: an answer, the call's error, or the circuit's refusal.
    pub outcome: &'a Result<T, Error<E>>,
    /// The wait before the next attempt, or `None` if there is none: the call ends with this
    /// outcome. The wait is planned to end within the policy's time limits; if it ends past
    /// them (a thread can sleep a little long, and tokio's timer rounds up to the
    /// millisecond), the call ends there with this outcome and [`StopReason::TimeLimit`],
    /// and the hooks hear nothing more.
    pub next_in: Option<Duration>,
    /// Why there is no next attempt, when there is none.
    pub stop: Option<StopReason>,
}

/// No hook: a placeholder for a hook not given.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHook;

/// The hooks of a [`RetryWhen`](super::RetryWhen): `B` runs before each attempt, `A` after.
#[derive(Debug, Clone, Copy, Default)]
pub struct AttemptHooks<B = NoHook, A = NoHook> {
    pub(crate) before: B,
    pub(crate) after: A,
}

/// What runs before each attempt: [`NoHook`], or any `Fn(u32, &Name)` taking the attempt's
/// number and the circuit's name.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a before-attempt hook",
    label = "a before-attempt hook is a `Fn(u32, &failfast::Name)`: the attempt's number and the circuit",
    note = "write `|number: u32, circuit: &failfast::Name| ...`, or use `failfast::retry::log_before`"
)]
pub trait BeforeAttempt {
    /// Called before attempt number `number` (1 for the first) through `circuit`.
    fn before(&self, number: u32, circuit: &Name);
}

impl BeforeAttempt for NoHook {
    #[inline(always)]
    fn before(&self, _: u32, _: &Name) {}
}

impl<F: Fn(u32, &Name)> BeforeAttempt for F {
    #[inline(always)]
    fn before(&self, number: u32, circuit: &Name) {
        self(number, circuit)
    }
}

/// What runs after each attempt: [`NoHook`], or any `Fn(&Attempt<T, E>)`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an after-attempt hook of a call returning `Result<{T}, {E}>`",
    label = "an after-attempt hook is a `Fn(&failfast::retry::Attempt<{T}, {E}>)`",
    note = "write `|attempt: &failfast::retry::Attempt<'_, {T}, {E}>| ...`, or use `failfast::retry::log_after`"
)]
pub trait AfterAttempt<T, E> {
    /// Called after each attempt, with what it came to and what comes next.
    fn after(&self, attempt: &Attempt<'_, T, E>);
}

impl<T, E> AfterAttempt<T, E> for NoHook {
    #[inline(always)]
    fn after(&self, _: &Attempt<'_, T, E>) {}
}

impl<T, E, F: Fn(&Attempt<'_, T, E>)> AfterAttempt<T, E> for F {
    #[inline(always)]
    fn after(&self, attempt: &Attempt<'_, T, E>) {
        self(attempt)
    }
}

/// A ready-made [`before_attempt`](super::RetryWhen::before_attempt) hook (feature `tracing`):
/// a `DEBUG` event for each attempt, as Tenacity's `before_log`.
#[cfg(feature = "tracing")]
pub fn log_before(number: u32, circuit: &Name) {
    tracing::debug!(
        circuit = circuit.as_str(),
        attempt = number,
        "attempt {number}"
    );
}

/// A ready-made [`after_attempt`](super::RetryWhen::after_attempt) hook (feature `tracing`),
/// as Tenacity's `after_log` and `before_sleep_log`: a `WARN` event for an attempt that will be
/// retried, with its error and the wait; an `ERROR` event for a last attempt that failed, with
/// why the retrying stopped ([`StopReason`]); a `DEBUG` event for an error that is not one to
/// retry (a 404 is an answer, not an incident); and nothing for an answer.
///
/// ```
/// use failfast::Breaker;
/// use failfast::retry::{Retry, log_after, log_before};
///
/// let breaker = Breaker::new("ledger", std::time::Duration::from_secs(30));
/// let retry = Retry::default();
/// let answer = retry
///     .when(|_: &std::io::Error| true)
///     .before_attempt(log_before)
///     .after_attempt(log_after)
///     .call(&breaker, || Ok::<u32, std::io::Error>(7));
/// assert_eq!(answer.unwrap(), 7);
/// ```
#[cfg(feature = "tracing")]
pub fn log_after<T, E: std::fmt::Display>(attempt: &Attempt<'_, T, E>) {
    let Attempt {
        number,
        circuit,
        outcome,
        next_in,
        stop,
    } = attempt;
    let circuit = circuit.as_str();
    match (outcome, next_in, stop) {
        (Ok(_), Some(wait), _) => tracing::warn!(
            circuit,
            attempt = number,
            "attempt {number} answered with a value to retry; retrying in {wait:?}"
        ),
        (Err(error), Some(wait), _) => tracing::warn!(
            circuit,
            attempt = number,
            "attempt {number} failed: {error}; retrying in {wait:?}"
        ),
        (Ok(_), None, Some(StopReason::NotRetryable) | None) => {}
        (Ok(_), None, Some(reason)) => tracing::warn!(
            circuit,
            attempt = number,
            "attempt {number} answered with a value to retry; giving up: {reason}"
        ),
        (Err(error), None, Some(StopReason::NotRetryable)) => tracing::debug!(
            circuit,
            attempt = number,
            "attempt {number} failed: {error}; not retried"
        ),
        (Err(error), None, reason) => tracing::error!(
            circuit,
            attempt = number,
            "attempt {number} failed: {error}; giving up: {}",
            reason.unwrap_or(StopReason::Attempts)
        ),
    }
}

/// The hooks of a retried call, before and after each attempt: implemented by
/// [`AttemptHooks`], which [`RetryWhen::before_attempt`](super::RetryWhen::before_attempt) and
/// [`RetryWhen::after_attempt`](super::RetryWhen::after_attempt) fill.
pub trait Hooks<T, E> {
    /// Before attempt number `number`.
    fn before(&self, number: u32, circuit: &Name);
    /// After an attempt.
    fn after(&self, attempt: &Attempt<'_, T, E>);
}

impl<T, E, B: BeforeAttempt, A: AfterAttempt<T, E>> Hooks<T, E> for AttemptHooks<B, A> {
    #[inline(always)]
    fn before(&self, number: u32, circuit: &Name) {
        self.before.before(number, circuit);
    }

    #[inline(always)]
    fn after(&self, attempt: &Attempt<'_, T, E>) {
        self.after.after(attempt);
    }
}
