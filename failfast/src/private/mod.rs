//! Helpers that only `#[failfast]` expansions call. Not part of the public API: their
//! signatures change whenever the macro needs them to.

mod caused_by;
mod fallback;
mod guard;
mod returns;

use std::convert::Infallible;
use std::future::Future;
use std::marker::PhantomData;
use std::time::Duration;

pub use caused_by::{BoxedRoot, Chain, ChainedError, DynRoot, SendRoot, SharedRoot, caused_by};
pub use fallback::{GivenAs, fallback};
pub use guard::{Guard, TotalGuard};
pub use returns::{Fallible, FromOpen, FromTimedOut, IntoResult};

use crate::asked::Asked;
use crate::breaker::Breaker;
use crate::builder::Builder;
use crate::error::Error;
use crate::name::Name;
use crate::policy::TripPolicy;
use crate::registry::{Registry, Site};
use crate::retry::{
    Attempt, AttemptHooks, Hooks, NoHint, NoLimits, NoValue, Retry, RetryError, RetryWhen, Wait,
};
use crate::store::Store;

/// The registry's breaker for `name`, made on first use by `function`.
pub fn registered(
    name: &'static str,
    open_for: Duration,
    threshold: u32,
    function: &'static str,
) -> Breaker {
    register(name, open_for, threshold, function, |builder| builder)
}

/// The registry's breaker for `name`, made on first use by `function`, with its circuit in
/// `store`.
pub fn registered_in(
    name: &'static str,
    open_for: Duration,
    threshold: u32,
    function: &'static str,
    store: impl Store,
) -> Breaker {
    register(name, open_for, threshold, function, |builder| {
        builder.store(store)
    })
}

/// The registry's breaker for `name` with the macro's settings, and what `more` adds to them.
fn register(
    name: &'static str,
    open_for: Duration,
    threshold: u32,
    function: &'static str,
    more: impl FnOnce(Builder) -> Builder,
) -> Breaker {
    let site = Site {
        function,
        open_for,
        threshold,
    };
    Registry::global().get_or_create_for_macro(name.into(), site, |builder| {
        more(
            builder
                .open_for(open_for)
                .trip(TripPolicy::consecutive_failures(threshold)),
        )
    })
}

/// The body of an async helper that waits on tokio's timer. Without the `tokio` feature the
/// helper is never called (the macro refuses the function with `__failfast_needs_tokio!`, at
/// the option), but it exists, so that this refusal is the only error.
macro_rules! with_tokio {
    (($($unused:ident),*) => $body:block) => {{
        #[cfg(not(feature = "tokio"))]
        {
            let _ = ($($unused,)*);
            unreachable!("`#[failfast]` refuses this function without the `tokio` feature");
        }
        #[cfg(feature = "tokio")]
        #[allow(clippy::needless_return)]
        return $body;
    }};
}

/// Every error counts.
#[inline(always)]
pub fn every<E>(_: &E) -> bool {
    true
}

// Each helper takes the function's return type `R` first, as a `PhantomData`: the function's
// error type is known before the closures that take it are checked, and a return type that is
// not a `Result` is one error, at the return type.

/// A guarded sync call whose error type takes the rejection.
#[inline(always)]
pub fn call<R, P, F>(_: PhantomData<R>, breaker: &Breaker, enabled: bool, counts: P, body: F) -> R
where
    R: Fallible<Error: FromOpen>,
    P: FnOnce(&R::Error) -> bool,
    F: FnOnce() -> R,
{
    if !enabled {
        return body();
    }
    R::from_result(breaker.call_into(
        counts,
        || body().into_result(),
        R::Error::from,
        |error| error,
    ))
}

/// A guarded sync call with a fallback for rejections and counted failures.
#[inline(always)]
pub fn call_or<R, P, F, B>(
    _: PhantomData<R>,
    breaker: &Breaker,
    enabled: bool,
    counts: P,
    body: F,
    fallback: B,
) -> R
where
    R: Fallible,
    P: FnOnce(&R::Error) -> bool,
    F: FnOnce() -> R,
    B: FnOnce(Error<R::Error>) -> R,
{
    if !enabled {
        return body();
    }
    let asked = Asked::default();
    let result = breaker.call_if(|e| asked.ask(counts, e), || body().into_result());
    answer_or_fall_back(result, asked.answer() == Some(true)).unwrap_or_else(fallback)
}

/// A guarded sync call to a function that cannot fail but by panicking: the fallback answers
/// while the circuit is open.
#[inline(always)]
pub fn call_total_or<R, F, B>(breaker: &Breaker, enabled: bool, body: F, fallback: B) -> R
where
    F: FnOnce() -> R,
    B: FnOnce(Error<Infallible>) -> R,
{
    if !enabled {
        return body();
    }
    match breaker.call(|| Ok::<R, Infallible>(body())) {
        Ok(value) => value,
        Err(error) => fallback(error),
    }
}

/// A guarded future whose error type takes the rejection.
pub async fn run<R, P, F>(
    _: PhantomData<R>,
    breaker: &Breaker,
    enabled: bool,
    counts: P,
    body: F,
) -> R
where
    R: Fallible<Error: FromOpen>,
    P: FnOnce(&R::Error) -> bool,
    F: Future<Output = R>,
{
    if !enabled {
        return body.await;
    }
    R::from_result(rejection_into_error(
        breaker.run_if(counts, IntoResult::new(body)).await,
    ))
}

/// A guarded future with an async fallback for rejections and counted failures.
pub async fn run_or<R, P, F, B, BF>(
    _: PhantomData<R>,
    breaker: &Breaker,
    enabled: bool,
    counts: P,
    body: F,
    fallback: B,
) -> R
where
    R: Fallible,
    P: FnOnce(&R::Error) -> bool,
    F: Future<Output = R>,
    B: FnOnce(Error<R::Error>) -> BF,
    BF: Future<Output = R>,
{
    if !enabled {
        return body.await;
    }
    let asked = Asked::default();
    let result = breaker
        .run_if(|e: &R::Error| asked.ask(counts, e), IntoResult::new(body))
        .await;
    match answer_or_fall_back(result, asked.answer() == Some(true)) {
        Ok(answer) => answer,
        Err(error) => fallback(error).await,
    }
}

/// A guarded future that cannot fail but by panicking: the fallback answers while open.
pub async fn run_total_or<R, F, B, BF>(breaker: &Breaker, enabled: bool, body: F, fallback: B) -> R
where
    F: Future<Output = R>,
    B: FnOnce(Error<Infallible>) -> BF,
    BF: Future<Output = R>,
{
    if !enabled {
        return body.await;
    }
    match breaker.run(async { Ok::<R, Infallible>(body.await) }).await {
        Ok(value) => value,
        Err(error) => fallback(error).await,
    }
}

/// A `before` hook of `retry(...)`, checked where it is written, so that a wrong one is
/// reported at its tokens first. An `Fn` bound, not `BeforeAttempt`: a closure's argument
/// types are then inferred.
pub fn before_hook<B: Fn(u32, &Name)>(hook: B) -> B {
    hook
}

/// An `after` hook of `retry(...)`, checked where it is written against the function's
/// `Result<T, E>`.
pub fn after_hook<T, E, A: Fn(&Attempt<'_, T, E>)>(
    hook: A,
    _output: std::marker::PhantomData<Result<T, E>>,
) -> A {
    hook
}

/// A `retry(...)` option: its policy, and its `before` and `after` hooks.
pub struct Retrying<'r, K> {
    policy: &'r Retry,
    hooks: K,
}

/// The `retry(...)` option of a function.
pub fn retrying<B, A>(policy: &Retry, before: B, after: A) -> Retrying<'_, AttemptHooks<B, A>> {
    Retrying {
        policy,
        hooks: AttemptHooks { before, after },
    }
}

impl<'r, K> Retrying<'r, K> {
    /// The policy retrying the errors that `counts`, with the hooks.
    fn when<W>(self, counts: W) -> RetryWhen<'r, W, NoValue, NoHint, NoLimits, K> {
        self.policy.when(counts).hooks(self.hooks)
    }
}

/// The retry policy of `retry(...)`, checked by the macro.
pub fn retry_policy(
    attempts: u32,
    wait: Wait,
    max_elapsed: Option<Duration>,
    wait_for_circuit: Duration,
) -> Retry {
    Retry::checked_by_macro(attempts, wait, max_elapsed, wait_for_circuit)
}

/// A retried sync call whose error type takes the rejection.
#[inline(always)]
pub fn call_retry<R, P, F, K>(
    _: PhantomData<R>,
    breaker: &Breaker,
    enabled: bool,
    counts: P,
    retry: Retrying<'_, K>,
    body: F,
) -> R
where
    R: Fallible<Error: FromOpen>,
    P: Fn(&R::Error) -> bool,
    F: FnMut() -> R,
    K: Hooks<R::Ok, R::Error>,
{
    let mut body = body;
    if !enabled {
        return body();
    }
    R::from_result(
        retry
            .when(counts)
            .call(breaker, || body().into_result())
            .map_err(RetryError::into_error),
    )
}

/// A retried sync call with a fallback for a rejection or a counted failure at the end.
pub fn call_retry_or<R, P, F, K, B>(
    _: PhantomData<R>,
    breaker: &Breaker,
    enabled: bool,
    counts: P,
    retry: Retrying<'_, K>,
    body: F,
    fallback: B,
) -> R
where
    R: Fallible,
    P: Fn(&R::Error) -> bool,
    F: FnMut() -> R,
    K: Hooks<R::Ok, R::Error>,
    B: FnOnce(Error<R::Error>) -> R,
{
    let mut body = body;
    if !enabled {
        return body();
    }
    let asked = Asked::default();
    let result = retry
        .when(|e: &R::Error| asked.ask(&counts, e))
        .call(breaker, || body().into_result());
    retried_or_fall_back(result, &asked, &counts).unwrap_or_else(fallback)
}

/// A guarded future with a time limit, whose error type takes the rejection and the time-out.
pub async fn run_within<R, P, F>(
    _: PhantomData<R>,
    breaker: &Breaker,
    enabled: bool,
    counts: P,
    limit: Duration,
    body: F,
) -> R
where
    R: Fallible<Error: FromOpen + FromTimedOut>,
    P: FnOnce(&R::Error) -> bool,
    F: Future<Output = R>,
{
    with_tokio!((breaker, enabled, counts, limit, body) => {
        if !enabled {
            return body.await;
        }
        R::from_result(rejection_into_error(
            breaker
                .run_if_within(limit, counts, IntoResult::new(body))
                .await,
        ))
    })
}

/// A guarded future with a time limit, with an async fallback.
pub async fn run_within_or<R, P, F, B, BF>(
    _: PhantomData<R>,
    breaker: &Breaker,
    enabled: bool,
    counts: P,
    limit: Duration,
    body: F,
    fallback: B,
) -> R
where
    R: Fallible<Error: FromTimedOut>,
    P: Fn(&R::Error) -> bool,
    F: Future<Output = R>,
    B: FnOnce(Error<R::Error>) -> BF,
    BF: Future<Output = R>,
{
    with_tokio!((breaker, enabled, counts, limit, body, fallback) => {
        if !enabled {
            return body.await;
        }
        // As everywhere, the fallback answers for refusals and for the errors `counts` counts: a
        // time-out always counts against the circuit (without asking `counts`), and reaches the
        // fallback only if `counts` says so, asked now.
        let asked = Asked::default();
        let result = breaker
            .run_if_within(
                limit,
                |e: &R::Error| asked.ask(&counts, e),
                IntoResult::new(body),
            )
            .await;
        let counted = counted(&result, &asked, &counts);
        match answer_or_fall_back(result, counted) {
            Ok(answer) => answer,
            Err(error) => fallback(error).await,
        }
    })
}

/// A retried future whose error type takes the rejection.
pub async fn run_retry<R, P, F, Fut, K>(
    _: PhantomData<R>,
    breaker: &Breaker,
    enabled: bool,
    counts: P,
    retry: Retrying<'_, K>,
    attempt: F,
) -> R
where
    R: Fallible<Error: FromOpen>,
    P: Fn(&R::Error) -> bool,
    F: FnMut() -> Fut,
    Fut: Future<Output = R>,
    K: Hooks<R::Ok, R::Error>,
{
    with_tokio!((breaker, enabled, counts, retry, attempt) => {
        let mut attempt = attempt;
        if !enabled {
            return attempt().await;
        }
        R::from_result(
            retry
                .when(counts)
                .run(breaker, || IntoResult::new(attempt()))
                .await
                .map_err(RetryError::into_error),
        )
    })
}

/// A retried future with an async fallback.
pub async fn run_retry_or<R, P, F, Fut, B, BF, K>(
    _: PhantomData<R>,
    breaker: &Breaker,
    enabled: bool,
    counts: P,
    retry: Retrying<'_, K>,
    attempt: F,
    fallback: B,
) -> R
where
    R: Fallible,
    P: Fn(&R::Error) -> bool,
    F: FnMut() -> Fut,
    Fut: Future<Output = R>,
    K: Hooks<R::Ok, R::Error>,
    B: FnOnce(Error<R::Error>) -> BF,
    BF: Future<Output = R>,
{
    with_tokio!((breaker, enabled, counts, retry, attempt, fallback) => {
        let mut attempt = attempt;
        if !enabled {
            return attempt().await;
        }
        let asked = Asked::default();
        let result = retry
            .when(|e: &R::Error| asked.ask(&counts, e))
            .run(breaker, || IntoResult::new(attempt()))
            .await;
        match retried_or_fall_back(result, &asked, &counts) {
            Ok(answer) => answer,
            Err(error) => fallback(error).await,
        }
    })
}

/// A retried future, each attempt cut short at `limit`.
pub async fn run_retry_within<R, P, F, Fut, K>(
    _: PhantomData<R>,
    breaker: &Breaker,
    enabled: bool,
    counts: P,
    retry: Retrying<'_, K>,
    limit: Duration,
    attempt: F,
) -> R
where
    R: Fallible<Error: FromOpen + FromTimedOut>,
    P: Fn(&R::Error) -> bool,
    F: FnMut() -> Fut,
    Fut: Future<Output = R>,
    K: Hooks<R::Ok, R::Error>,
{
    with_tokio!((breaker, enabled, counts, retry, limit, attempt) => {
        let mut attempt = attempt;
        if !enabled {
            return attempt().await;
        }
        let retrying = retry.when(counts).call_timeout(limit);
        R::from_result(
            retrying
                .run(breaker, || IntoResult::new(attempt()))
                .await
                .map_err(RetryError::into_error),
        )
    })
}

/// A retried future, each attempt cut short at `limit`, with an async fallback.
#[allow(clippy::too_many_arguments)]
pub async fn run_retry_within_or<R, P, F, Fut, B, BF, K>(
    _: PhantomData<R>,
    breaker: &Breaker,
    enabled: bool,
    counts: P,
    retry: Retrying<'_, K>,
    limit: Duration,
    attempt: F,
    fallback: B,
) -> R
where
    R: Fallible<Error: FromTimedOut>,
    P: Fn(&R::Error) -> bool,
    F: FnMut() -> Fut,
    Fut: Future<Output = R>,
    K: Hooks<R::Ok, R::Error>,
    B: FnOnce(Error<R::Error>) -> BF,
    BF: Future<Output = R>,
{
    with_tokio!((breaker, enabled, counts, retry, limit, attempt, fallback) => {
        let mut attempt = attempt;
        if !enabled {
            return attempt().await;
        }
        let asked = Asked::default();
        let result = retry
            .when(|e: &R::Error| asked.ask(&counts, e))
            .call_timeout(limit)
            .run(breaker, || IntoResult::new(attempt()))
            .await;
        match retried_or_fall_back(result, &asked, &counts) {
            Ok(answer) => answer,
            Err(error) => fallback(error).await,
        }
    })
}

/// A retried call's answer, or what the fallback must answer instead: for a refusal, or a last
/// error that counted. `asked` holds what `counts` answered last, which was about the last
/// error: every error is asked about once, by the breaker or, for a time-out, by the policy.
fn retried_or_fall_back<R: Fallible>(
    result: Result<R::Ok, RetryError<R::Error>>,
    asked: &Asked,
    counts: impl FnOnce(&R::Error) -> bool,
) -> Result<R, Error<R::Error>> {
    let result = result.map_err(Error::from);
    let counted = counted(&result, asked, counts);
    answer_or_fall_back(result, counted)
}

/// Whether the call's own error in `result` counted: as `asked` noted, or, for an error the
/// predicate was not asked about (a time-out, which counts without asking), as `counts` says
/// now.
fn counted<T, E>(
    result: &Result<T, Error<E>>,
    asked: &Asked,
    counts: impl FnOnce(&E) -> bool,
) -> bool {
    match result {
        Err(Error::Inner(error)) => asked.answer().unwrap_or_else(|| counts(error)),
        _ => false,
    }
}

/// The function's own answer: the rejection becomes its error type.
#[inline(always)]
fn rejection_into_error<T, E: FromOpen>(result: Result<T, Error<E>>) -> Result<T, E> {
    match result {
        Ok(value) => Ok(value),
        Err(Error::Inner(error)) => Err(error),
        Err(Error::Open(open)) => Err(E::from(open)),
    }
}

/// The function's own answer, or, for a rejection or a counted failure, what the fallback must
/// answer instead. Errors that did not count are answered as they are.
#[inline(always)]
fn answer_or_fall_back<R: Fallible>(
    result: Result<R::Ok, Error<R::Error>>,
    counted: bool,
) -> Result<R, Error<R::Error>> {
    match result {
        Ok(value) => Ok(R::from_result(Ok(value))),
        Err(Error::Inner(error)) if !counted => Ok(R::from_result(Err(error))),
        Err(error) => Err(error),
    }
}
