//! What a service answers while its circuit is open, and what its errors become.

use crate::error::{Error, Open};

/// What a [`FailFast`](super::FailFast) service answers for a call its circuit refuses, and what
/// the inner service's errors become. Implemented by [`Reject`] (generic services: the error is
/// [`failfast::Error`](crate::Error)), [`Unavailable`](super::Unavailable) and
/// [`FallbackResponse`](super::FallbackResponse) (HTTP services: an answer, not an error).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot answer a refused call with a `{Response}`",
    label = "the layer's answer to a refused call",
    note = "`.http()` answers 503, which needs an HTTP response whose body implements `Default` (a server's); for an HTTP client use `.http_client()`, which fails with `failfast::Error::Open`"
)]
pub trait OnOpen<Response, E> {
    /// The service's error type.
    type Error;

    /// The answer to a refused call.
    fn refused(&self, open: Open) -> Result<Response, Self::Error>;

    /// The inner service's error, as the service's.
    fn failed(&self, error: E) -> Self::Error;
}

/// For generic services: a refused call fails with [`Error::Open`], and the inner service's
/// errors come as [`Error::Inner`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Reject;

impl<Response, E> OnOpen<Response, E> for Reject {
    type Error = Error<E>;

    #[inline(always)]
    fn refused(&self, open: Open) -> Result<Response, Error<E>> {
        Err(Error::Open(open))
    }

    #[inline(always)]
    fn failed(&self, error: E) -> Error<E> {
        Error::Inner(error)
    }
}
