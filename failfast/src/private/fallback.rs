//! A `fallback = path` of `#[failfast]`, checked where it is written: a fallback of the wrong
//! signature is one error at the path, which names the signature it must have.

use crate::error::Error;

/// The fallback of a sync function returning `R`, whose calls fail with `E`. A generic
/// fallback (`fn zero<R: Default>(_: Error<E>) -> R`) learns its types from the bound.
#[inline(always)]
pub fn fallback<E, R, F>(fallback: F) -> F
where
    F: FnOnce(Error<E>) -> R,
{
    fallback
}

/// The call's error as the argument `A` an async fallback takes: the expansion calls the
/// fallback itself (so that rustc suggests making it `async` when it is not) with this.
#[diagnostic::on_unimplemented(
    message = "this fallback takes `{A}`, but it is given the call's `{Self}`",
    label = "a fallback of this function takes a `{Self}`",
    note = "the `failfast::Error` says whether the circuit refused the call (`Error::Open`) or \
            the call failed (`Error::Inner`)"
)]
pub trait GivenAs<A> {
    /// The call's error, as the fallback's argument.
    fn given(self) -> A;
}

// The only implementation: a generic fallback's argument is learnt from the call's error.
impl<E> GivenAs<Error<E>> for Error<E> {
    #[inline(always)]
    fn given(self) -> Error<E> {
        self
    }
}
