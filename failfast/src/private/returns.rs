//! What a guarded function returns, decided by its type rather than its name: a `Result` under
//! any name (`io::Result<T>`, `type ApiResult<T> = Result<T, ApiError>`) is guarded as one,
//! and each bound the macro needs says, when unmet, what to write.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::error::{Open, TimedOut};

/// A `Result`, under whatever name the function's return type gives it.
#[diagnostic::on_unimplemented(
    message = "`#[failfast]` guards functions that return `Result<T, E>` (or a future of one): \
               `{Self}` is not a `Result`",
    label = "`#[failfast]` counts this function's errors, so it must return a `Result`",
    note = "a function that cannot fail but by panicking can be guarded with a `fallback`, \
            which answers while the circuit is open, when its return type is spelled without \
            `impl Trait` (`Wrapper<impl Display>` may be a `Result` under another name)"
)]
pub trait Fallible: Sized {
    /// The value of a successful call.
    type Ok;
    /// The function's error.
    type Error;
    /// `self` as the `Result` it is.
    fn into_result(self) -> Result<Self::Ok, Self::Error>;
    /// The `Result` as `Self`.
    fn from_result(result: Result<Self::Ok, Self::Error>) -> Self;
}

impl<T, E> Fallible for Result<T, E> {
    type Ok = T;
    type Error = E;

    #[inline(always)]
    fn into_result(self) -> Self {
        self
    }

    #[inline(always)]
    fn from_result(result: Self) -> Self {
        result
    }
}

/// An error type that can say the circuit refused the call.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot say that the circuit refused the call: it has no \
               `From<failfast::Open>`",
    label = "add a `#[from] failfast::Open` variant to `{Self}`, or return `anyhow::Result`",
    note = "while the circuit is open, the function returns `Err(E::from(failfast::Open))` \
            without running its body; a `fallback` can answer instead"
)]
pub trait FromOpen: From<Open> {}

impl<E: From<Open>> FromOpen for E {}

/// An error type that can say the call took too long.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot say that the call took too long: it has no \
               `From<failfast::TimedOut>`",
    label = "add a `#[from] failfast::TimedOut` variant to `{Self}`, or return `anyhow::Result`",
    note = "a call cut short by `call_timeout` fails with `E::from(failfast::TimedOut)`"
)]
pub trait FromTimedOut: From<TimedOut> {}

impl<E: From<TimedOut>> FromTimedOut for E {}

pin_project_lite::pin_project! {
    /// A future of a [`Fallible`], as the future of the `Result` it is.
    pub struct IntoResult<F> {
        #[pin]
        future: F,
    }
}

impl<F> IntoResult<F> {
    /// `future`, giving its output as a `Result`.
    #[inline(always)]
    pub fn new(future: F) -> Self {
        Self { future }
    }
}

impl<F> Future for IntoResult<F>
where
    F: Future<Output: Fallible>,
{
    type Output = Result<<F::Output as Fallible>::Ok, <F::Output as Fallible>::Error>;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().future.poll(cx).map(Fallible::into_result)
    }
}
