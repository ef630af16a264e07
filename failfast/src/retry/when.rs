//! A retry policy with its conditions ([`RetryWhen`]), and the loops that run it: sync, and
//! async on tokio's timer.

use std::time::Duration;

use super::error::RetryError;
use super::hooks::{Attempt, AttemptHooks, Hooks};
use super::schedule::{Next, Schedule};
use super::{Retry, StopReason};
use crate::asked::Asked;
use crate::breaker::Breaker;
use crate::error::Error;
use crate::state::State;

/// Which errors to retry: implemented by [`AnyError`] and by any `Fn(&E) -> bool`.
pub trait RetryOn<E> {
    /// Whether to retry after `error` (and count it against the circuit).
    fn retry_on(&self, error: &E) -> bool;
}

/// Retries every error.
#[derive(Debug, Clone, Copy, Default)]
pub struct AnyError;

impl<E> RetryOn<E> for AnyError {
    #[inline(always)]
    fn retry_on(&self, _: &E) -> bool {
        true
    }
}

impl<E, F: Fn(&E) -> bool> RetryOn<E> for F {
    #[inline(always)]
    fn retry_on(&self, error: &E) -> bool {
        self(error)
    }
}

/// Which answers to retry (Tenacity's `retry_if_result`): implemented by [`NoValue`] and by
/// any `Fn(&T) -> bool`.
pub trait RetryOnValue<T> {
    /// Whether to retry after the answer `value`.
    fn retry_on_value(&self, value: &T) -> bool;
}

/// Retries no answer: every `Ok` ends the call.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoValue;

impl<T> RetryOnValue<T> for NoValue {
    #[inline(always)]
    fn retry_on_value(&self, _: &T) -> bool {
        false
    }
}

impl<T, F: Fn(&T) -> bool> RetryOnValue<T> for F {
    #[inline(always)]
    fn retry_on_value(&self, value: &T) -> bool {
        self(value)
    }
}

/// How long a dependency asked to wait before the next attempt, taken from its error (a 429's
/// `Retry-After`): implemented by [`NoHint`] and by any `Fn(&E) -> Option<Duration>`.
pub trait Hint<E> {
    /// The wait `error` asks for, if it asks for one.
    fn wait_hint(&self, error: &E) -> Option<Duration>;
}

/// Takes no hint from errors: the policy's [`Wait`](super::Wait) decides.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHint;

impl<E> Hint<E> for NoHint {
    #[inline(always)]
    fn wait_hint(&self, _: &E) -> Option<Duration> {
        None
    }
}

impl<E, F: Fn(&E) -> Option<Duration>> Hint<E> for F {
    #[inline(always)]
    fn wait_hint(&self, error: &E) -> Option<Duration> {
        self(error)
    }
}

/// A [`Retry`] policy with the conditions of one kind of call; from [`Retry::when`].
///
/// ```
/// use std::time::Duration;
/// use failfast::Breaker;
/// use failfast::retry::{Retry, Wait};
///
/// #[derive(Debug)]
/// enum ApiError { Status(u16), RateLimited { retry_after: Duration } }
///
/// let breaker = Breaker::builder("catalog").trip(failfast::TripPolicy::consecutive_failures(9)).build()?;
/// let retry = Retry::builder().attempts(4).wait(Wait::fixed(Duration::ZERO)).build()?;
/// let mut answers = vec![
///     Ok(Some("shoes")),                                              // 4: the answer
///     Ok(None),                                                       // 3: 204, empty: retried
///     Err(ApiError::RateLimited { retry_after: Duration::ZERO }),    // 2: 429: retried
///     Err(ApiError::Status(503)),                                     // 1: 5xx: retried
/// ];
/// let item = retry
///     .when(|e: &ApiError| !matches!(e, ApiError::Status(404)))       // a 404 is an answer
///     .when_ok(|item: &Option<&str>| item.is_none())                  // so is an empty 204, retried
///     .hint(|e: &ApiError| match e {
///         ApiError::RateLimited { retry_after } => Some(*retry_after), // honour Retry-After
///         _ => None,
///     })
///     .call(&breaker, || answers.pop().unwrap());
/// assert_eq!(item.unwrap(), Some("shoes"));
/// # Ok::<(), failfast::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct RetryWhen<'r, W, O, H, L = NoLimits, K = AttemptHooks> {
    retry: &'r Retry,
    retry_on: W,
    retry_on_value: O,
    hint: H,
    limits: L,
    hooks: K,
}

/// No time limit on attempts: [`RetryWhen::call`] and [`RetryWhen::run`] take any error type.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoLimits;

/// Time limits on attempts, set by [`RetryWhen::call_timeout`] and [`RetryWhen::deadline`]:
/// [`RetryWhen::run`] then needs an error type with `From<TimedOut>`.
#[derive(Debug, Clone, Copy, Default)]
#[cfg_attr(not(feature = "tokio"), allow(dead_code))]
pub struct Limits {
    call_timeout: Option<Duration>,
    deadline: Option<Duration>,
}

impl Limits {
    /// The time an attempt starting `elapsed` into the call may take, if it is limited.
    #[cfg(feature = "tokio")]
    fn for_attempt(&self, elapsed: Duration) -> Option<Duration> {
        let left = self.deadline.map(|d| d.saturating_sub(elapsed));
        match (self.call_timeout, left) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// The last attempt's outcome, as the retried call's.
fn give_up<T, E>(
    outcome: Result<T, Error<E>>,
    schedule: &Schedule<'_>,
    stop: StopReason,
) -> Result<T, RetryError<E>> {
    outcome.map_err(|e| RetryError::new(e, schedule.attempts(), stop))
}

/// What comes after an attempt: a wait, then another attempt (the outcome so far kept, in
/// case the wait ends past the time limits), or the call's outcome.
enum Step<T, E> {
    Wait(Duration, Result<T, Error<E>>),
    Done(Result<T, RetryError<E>>),
}

/// An attempt's outcome, judged.
enum Judged<T, E> {
    /// Return it as it is.
    Final(Result<T, Error<E>>),
    /// Retry it, if the schedule allows.
    Retryable {
        outcome: Result<T, Error<E>>,
        hint: Option<Duration>,
        refusing: Option<Duration>,
    },
}

impl<'r, W> RetryWhen<'r, W, NoValue, NoHint> {
    pub(super) fn new(retry: &'r Retry, retry_on: W) -> Self {
        RetryWhen {
            retry,
            retry_on,
            retry_on_value: NoValue,
            hint: NoHint,
            limits: NoLimits,
            hooks: AttemptHooks::default(),
        }
    }
}

impl<'r, W, O, H, L, K> RetryWhen<'r, W, O, H, L, K> {
    /// Also retries the answers for which `retry_on_value` is true (an empty 204, say). Such
    /// an answer is a success for the circuit; the last one is returned if the policy gives up.
    pub fn when_ok<O2>(self, retry_on_value: O2) -> RetryWhen<'r, W, O2, H, L, K> {
        RetryWhen {
            retry: self.retry,
            retry_on: self.retry_on,
            retry_on_value,
            hint: self.hint,
            limits: self.limits,
            hooks: self.hooks,
        }
    }

    /// Waits as long as `hint` says an error asks for (a 429's `Retry-After`), rather than the
    /// policy's wait; still within the policy's time limit. A hint longer than
    /// [`max_hint`](super::RetryBuilder::max_hint) (by default the policy's longest wait) ends
    /// the retrying: the caller gets the error rather than a long sleep.
    pub fn hint<H2>(self, hint: H2) -> RetryWhen<'r, W, O, H2, L, K> {
        RetryWhen {
            retry: self.retry,
            retry_on: self.retry_on,
            retry_on_value: self.retry_on_value,
            hint,
            limits: self.limits,
            hooks: self.hooks,
        }
    }

    /// These conditions with the attempt hooks `hooks` (the macro's `before` and `after`).
    pub(crate) fn hooks<K2>(self, hooks: K2) -> RetryWhen<'r, W, O, H, L, K2> {
        RetryWhen {
            retry: self.retry,
            retry_on: self.retry_on,
            retry_on_value: self.retry_on_value,
            hint: self.hint,
            limits: self.limits,
            hooks,
        }
    }

    #[cfg(feature = "tokio")]
    fn with_limits(self, limits: Limits) -> RetryWhen<'r, W, O, H, Limits, K> {
        RetryWhen {
            retry: self.retry,
            retry_on: self.retry_on,
            retry_on_value: self.retry_on_value,
            hint: self.hint,
            limits,
            hooks: self.hooks,
        }
    }

    /// After an attempt: how long to wait before the next one, or the call's outcome.
    fn next<T, E>(
        &self,
        breaker: &Breaker,
        (result, asked): (Result<T, Error<E>>, Option<bool>),
        schedule: &mut Schedule<'_>,
        elapsed: Option<Duration>,
    ) -> Step<T, E>
    where
        W: RetryOn<E>,
        O: RetryOnValue<T>,
        H: Hint<E>,
        K: Hooks<T, E>,
    {
        let (outcome, next) = match self.judge(breaker, result, asked) {
            Judged::Final(outcome) => (outcome, Next::Stop(StopReason::NotRetryable)),
            Judged::Retryable {
                outcome,
                hint,
                refusing,
            } => (
                outcome,
                schedule.after_attempt(breaker, hint, refusing, elapsed),
            ),
        };
        let (next_in, stop) = match next {
            Next::RetryAfter(wait) => (Some(wait), None),
            Next::Stop(reason) => (None, Some(reason)),
        };
        self.hooks.after(&Attempt {
            number: schedule.attempts(),
            circuit: breaker.name(),
            outcome: &outcome,
            next_in,
            stop,
        });
        match next {
            Next::RetryAfter(wait) => Step::Wait(wait, outcome),
            Next::Stop(reason) => Step::Done(give_up(outcome, schedule, reason)),
        }
    }

    /// Whether `result` may be retried; `asked` is what `when` answered for its error, if it
    /// was asked.
    fn judge<T, E>(
        &self,
        breaker: &Breaker,
        result: Result<T, Error<E>>,
        asked: Option<bool>,
    ) -> Judged<T, E>
    where
        W: RetryOn<E>,
        O: RetryOnValue<T>,
        H: Hint<E>,
    {
        match result {
            Ok(value) if !self.retry_on_value.retry_on_value(&value) => Judged::Final(Ok(value)),
            Err(Error::Inner(e)) if !asked.unwrap_or_else(|| self.retry_on.retry_on(&e)) => {
                Judged::Final(Err(Error::Inner(e)))
            }
            Err(Error::Open(open)) => Judged::Retryable {
                refusing: Some(open.retry_in()),
                outcome: Err(Error::Open(open)),
                hint: None,
            },
            retryable => Judged::Retryable {
                hint: retryable.as_ref().err().and_then(|e| match e {
                    Error::Inner(e) => self.hint.wait_hint(e),
                    Error::Open(_) => None,
                }),
                // A disabled breaker lets every call through, whatever its circuit says.
                refusing: match breaker.is_enabled().then(|| breaker.state()) {
                    Some(State::Open { retry_in }) => Some(retry_in),
                    _ => None,
                },
                outcome: retryable,
            },
        }
    }
}

impl<'r, W, O, H, L, B, A> RetryWhen<'r, W, O, H, L, AttemptHooks<B, A>> {
    /// Runs `hook` before each attempt, with its number (1 for the first) and the circuit's
    /// name: Tenacity's `before`. [`log_before`](super::log_before) (feature `tracing`) logs it.
    pub fn before_attempt<B2>(self, hook: B2) -> RetryWhen<'r, W, O, H, L, AttemptHooks<B2, A>> {
        RetryWhen {
            retry: self.retry,
            retry_on: self.retry_on,
            retry_on_value: self.retry_on_value,
            hint: self.hint,
            limits: self.limits,
            hooks: AttemptHooks {
                before: hook,
                after: self.hooks.after,
            },
        }
    }

    /// Runs `hook` after each attempt, with what it came to and the wait before the next one
    /// (`None` when the call ends): Tenacity's `after` and `before_sleep`.
    /// [`log_after`](super::log_after) (feature `tracing`) logs the failures.
    pub fn after_attempt<A2>(self, hook: A2) -> RetryWhen<'r, W, O, H, L, AttemptHooks<B, A2>> {
        RetryWhen {
            retry: self.retry,
            retry_on: self.retry_on,
            retry_on_value: self.retry_on_value,
            hint: self.hint,
            limits: self.limits,
            hooks: AttemptHooks {
                before: self.hooks.before,
                after: hook,
            },
        }
    }
}

impl<'r, W, O, H, K> RetryWhen<'r, W, O, H, NoLimits, K> {
    /// Gives each attempt `limit` to finish (feature `tokio`, async [`run`](Self::run) only):
    /// an attempt past it is dropped, counts as a failure of the circuit, and ends with
    /// [`TimedOut`](crate::TimedOut) through the call's own error type, retried if
    /// [`when`](Retry::when) says so.
    #[cfg(feature = "tokio")]
    pub fn call_timeout(self, limit: Duration) -> RetryWhen<'r, W, O, H, Limits, K> {
        let limits = Limits {
            call_timeout: Some(limit),
            deadline: None,
        };
        self.with_limits(limits)
    }

    /// Gives the whole call, waits and attempts, `limit` to finish (feature `tokio`, async
    /// [`run`](Self::run) only): the attempt under way when it passes is cut short as by
    /// [`call_timeout`](Self::call_timeout), and no attempt starts after it.
    #[cfg(feature = "tokio")]
    pub fn deadline(self, limit: Duration) -> RetryWhen<'r, W, O, H, Limits, K> {
        let limits = Limits {
            call_timeout: None,
            deadline: Some(limit),
        };
        self.with_limits(limits)
    }

    /// Calls `call` through `breaker` until it answers with something not to retry, or until
    /// the policy gives up; waits sleep the thread. An error not to retry is returned at once.
    #[inline]
    pub fn call<T, E, F>(&self, breaker: &Breaker, mut call: F) -> Result<T, RetryError<E>>
    where
        F: FnMut() -> Result<T, E>,
        W: RetryOn<E>,
        O: RetryOnValue<T>,
        H: Hint<E>,
        K: Hooks<T, E>,
    {
        let started = self
            .retry
            .max_elapsed
            .is_some()
            .then(|| breaker.clock_now());
        self.hooks.before(1, breaker.name());
        let asked = Asked::default();
        let first = breaker.call_if(|e| asked.ask(|e| self.retry_on.retry_on(e), e), &mut call);
        match first {
            Ok(value) if !self.retry_on_value.retry_on_value(&value) => {
                self.answered_at_once(breaker, value)
            }
            retryable => self.call_after_first(breaker, call, started, (retryable, asked.answer())),
        }
    }

    /// A first attempt's answer, told to the after-attempt hook.
    #[inline(always)]
    fn answered_at_once<T, E>(&self, breaker: &Breaker, value: T) -> Result<T, RetryError<E>>
    where
        K: Hooks<T, E>,
    {
        let outcome = Ok(value);
        self.hooks.after(&Attempt {
            number: 1,
            circuit: breaker.name(),
            outcome: &outcome,
            next_in: None,
            stop: Some(StopReason::NotRetryable),
        });
        outcome.map_err(|e: Error<E>| RetryError::new(e, 1, StopReason::NotRetryable))
    }

    /// The retries of [`call`](Self::call), after a first attempt that may be retried: out of
    /// line, so that a call that succeeds at once pays only for the first attempt.
    #[inline(never)]
    fn call_after_first<T, E, F>(
        &self,
        breaker: &Breaker,
        mut call: F,
        started: Option<Duration>,
        mut result: (Result<T, Error<E>>, Option<bool>),
    ) -> Result<T, RetryError<E>>
    where
        F: FnMut() -> Result<T, E>,
        W: RetryOn<E>,
        O: RetryOnValue<T>,
        H: Hint<E>,
        K: Hooks<T, E>,
    {
        let mut schedule = Schedule::new(self.retry);
        schedule.start_attempt(); // the first
        loop {
            let elapsed = || started.map(|started| breaker.clock_now().saturating_sub(started));
            let last = match self.next(breaker, result, &mut schedule, elapsed()) {
                Step::Wait(wait, last) => {
                    self.retry.sleep(wait);
                    last
                }
                Step::Done(outcome) => return outcome,
            };
            // A sleep may end later than asked.
            if elapsed().is_some_and(|elapsed| schedule.is_past_limits(elapsed)) {
                return give_up(last, &schedule, StopReason::TimeLimit);
            }
            schedule.start_attempt();
            self.hooks.before(schedule.attempts(), breaker.name());
            let asked = Asked::default();
            let outcome =
                breaker.call_if(|e| asked.ask(|e| self.retry_on.retry_on(e), e), &mut call);
            result = (outcome, asked.answer());
        }
    }

    /// Runs the future `attempt` makes through `breaker`, once per attempt, until it answers
    /// with something not to retry, or until the policy gives up; waits are tokio sleeps, and
    /// never block the executor. An error not to retry is returned at once.
    #[cfg(feature = "tokio")]
    pub async fn run<T, E, F, Fut>(
        &self,
        breaker: &Breaker,
        mut attempt: F,
    ) -> Result<T, RetryError<E>>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, E>>,
        W: RetryOn<E>,
        O: RetryOnValue<T>,
        H: Hint<E>,
        K: Hooks<T, E>,
    {
        let started = self
            .retry
            .max_elapsed
            .is_some()
            .then(tokio::time::Instant::now);
        self.hooks.before(1, breaker.name());
        let asked = Asked::default();
        let first = breaker
            .run_if(
                |e: &E| asked.ask(|e| self.retry_on.retry_on(e), e),
                // Made when the breaker admits it: a refused attempt does not call `attempt`.
                async { attempt().await },
            )
            .await;
        let first = match first {
            Ok(value) if !self.retry_on_value.retry_on_value(&value) => {
                return self.answered_at_once(breaker, value);
            }
            retryable => (retryable, asked.answer()),
        };
        // The retries, in a future of their own on the heap: in this one they would make the
        // future of every call larger, and slower to move, for the few that fail.
        Box::pin(self.run_after_first(breaker, attempt, started, first)).await
    }

    /// The retries of [`run`](Self::run), after a first attempt that may be retried.
    #[cfg(feature = "tokio")]
    async fn run_after_first<T, E, F, Fut>(
        &self,
        breaker: &Breaker,
        mut attempt: F,
        started: Option<tokio::time::Instant>,
        mut result: (Result<T, Error<E>>, Option<bool>),
    ) -> Result<T, RetryError<E>>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, E>>,
        W: RetryOn<E>,
        O: RetryOnValue<T>,
        H: Hint<E>,
        K: Hooks<T, E>,
    {
        let mut schedule = Schedule::new(self.retry);
        schedule.start_attempt(); // the first
        loop {
            let elapsed = || started.map(|started| started.elapsed());
            let last = match self.next(breaker, result, &mut schedule, elapsed()) {
                Step::Wait(wait, last) => {
                    tokio::time::sleep(wait).await;
                    last
                }
                Step::Done(outcome) => return outcome,
            };
            // tokio's timer rounds a sleep up to the next millisecond.
            if elapsed().is_some_and(|elapsed| schedule.is_past_limits(elapsed)) {
                return give_up(last, &schedule, StopReason::TimeLimit);
            }
            schedule.start_attempt();
            self.hooks.before(schedule.attempts(), breaker.name());
            let asked = Asked::default();
            let outcome = breaker
                .run_if(
                    |e: &E| asked.ask(|e| self.retry_on.retry_on(e), e),
                    // Made when the breaker admits it: a refused attempt does not call `attempt`.
                    async { attempt().await },
                )
                .await;
            result = (outcome, asked.answer());
        }
    }
}

#[cfg(feature = "tokio")]
impl<'r, W, O, H, K> RetryWhen<'r, W, O, H, Limits, K> {
    /// As on a retry without limits: gives each attempt `limit` to finish.
    pub fn call_timeout(mut self, limit: Duration) -> Self {
        self.limits.call_timeout = Some(limit);
        self
    }

    /// As on a retry without limits: gives the whole call `limit` to finish.
    pub fn deadline(mut self, limit: Duration) -> Self {
        self.limits.deadline = Some(limit);
        self
    }

    /// Like the [`run`](RetryWhen::run) of a retry without limits, with each attempt cut short
    /// at its time limit: it counts as a failure of the circuit, and its error is
    /// [`TimedOut`](crate::TimedOut) through `E`.
    #[cfg(feature = "tokio")]
    pub async fn run<T, E, F, Fut>(
        &self,
        breaker: &Breaker,
        mut attempt: F,
    ) -> Result<T, RetryError<E>>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, E>>,
        E: From<crate::TimedOut>,
        W: RetryOn<E>,
        O: RetryOnValue<T>,
        H: Hint<E>,
        K: Hooks<T, E>,
    {
        let mut schedule = Schedule::new(self.retry).with_deadline(self.limits.deadline);
        let started = tokio::time::Instant::now();
        loop {
            schedule.start_attempt();
            self.hooks.before(schedule.attempts(), breaker.name());
            let asked = Asked::default();
            let counts = |e: &E| asked.ask(|e| self.retry_on.retry_on(e), e);
            let outcome = match self.limits.for_attempt(started.elapsed()) {
                // Made when the breaker admits it: a refused attempt does not call `attempt`.
                Some(limit) => {
                    let lazy = async { attempt().await };
                    breaker.run_if_within(limit, counts, lazy).await
                }
                None => breaker.run_if(counts, async { attempt().await }).await,
            };
            let result = (outcome, asked.answer());
            let last = match self.next(breaker, result, &mut schedule, Some(started.elapsed())) {
                Step::Wait(wait, last) => {
                    tokio::time::sleep(wait).await;
                    last
                }
                Step::Done(outcome) => return outcome,
            };
            // tokio's timer rounds a sleep up to the next millisecond: no attempt may start at
            // or past the deadline, where its time limit would be zero.
            if schedule.is_past_limits(started.elapsed()) {
                return give_up(last, &schedule, StopReason::TimeLimit);
            }
        }
    }
}
