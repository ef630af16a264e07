//! A `fallback = path` of `#[failfast]`, checked where it is written: a fallback of the wrong
//! signature is one error at the path, saying the signature it must have.

use crate::error::Error;

/// The argument a fallback takes: the call's [`Error`].
#[diagnostic::on_unimplemented(
    message = "this fallback takes `{Self}`, but it is given the call's `failfast::Error<{E}>`",
    label = "a fallback of this function is a `fn(failfast::Error<{E}>) -> {R}`",
    note = "the `failfast::Error` says whether the circuit refused the call (`Error::Open`) or \
            the call failed (`Error::Inner`)"
)]
pub trait FallbackTakes<E, R> {
    /// The argument, made of the call's error.
    fn from_error(error: Error<E>) -> Self;
}

impl<E, R> FallbackTakes<E, R> for Error<E> {
    #[inline(always)]
    fn from_error(error: Error<E>) -> Self {
        error
    }
}

/// What a fallback returns: what the function returns.
#[diagnostic::on_unimplemented(
    message = "this fallback returns `{Self}`, but the function it answers for returns `{R}`",
    label = "a fallback of this function returns `{R}`, as the function does"
)]
pub trait FallbackReturns<R> {
    /// The fallback's answer, as the function's.
    fn into_answer(self) -> R;
}

impl<R> FallbackReturns<R> for R {
    #[inline(always)]
    fn into_answer(self) -> R {
        self
    }
}

/// The fallback of a sync function returning `R`, whose calls fail with `E`.
pub fn fallback<E, R, A, O>(fallback: fn(A) -> O) -> fn(A) -> O
where
    A: FallbackTakes<E, R>,
    O: FallbackReturns<R>,
{
    fallback
}

/// The fallback of an async function returning `R`, whose calls fail with `E`: checked for
/// its argument here, and for its answer where the expansion awaits it (so that a fallback that
/// is not async is one error, which says to make it so).
pub fn async_fallback<E, R, A, Fut>(fallback: fn(A) -> Fut) -> fn(A) -> Fut
where
    A: FallbackTakes<E, R>,
{
    fallback
}
