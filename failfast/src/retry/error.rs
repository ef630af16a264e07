//! What a retried call returns when it gives up: [`RetryError`].

use std::fmt;

use super::StopReason;
use crate::error::{Error, Open};

/// A retried call that gave up: the last attempt's error (the call's own, or the circuit's
/// refusal), with how many attempts were made.
///
/// ```
/// use std::time::Duration;
/// use failfast::Breaker;
/// use failfast::retry::{Retry, Wait};
///
/// let breaker = Breaker::builder("ledger")
///     .trip(failfast::TripPolicy::consecutive_failures(10))
///     .build()?;
/// let retry = Retry::builder().attempts(3).wait(Wait::fixed(Duration::ZERO)).build()?;
/// let error = retry.call(&breaker, || Err::<u32, _>("ledger down")).unwrap_err();
/// assert_eq!(error.attempts(), 3);
/// assert_eq!(error.into_inner(), Some("ledger down"));
/// # Ok::<(), failfast::ConfigError>(())
/// ```
///
/// It is an enum of its own rather than an [`Error<E>`](crate::Error) and a count side by side,
/// which keeps it one word larger than `Error<E>` at most: results are returned through
/// memory, and a call that succeeds should not pay for a large error type.
#[derive(Debug)]
pub enum RetryError<E> {
    /// The last attempt was refused: the circuit is open.
    Open {
        /// The refusal.
        open: Open,
        /// How many attempts were made, refused ones included.
        attempts: u32,
        /// Why no more were made.
        stop: StopReason,
    },
    /// The last attempt ran and returned this error.
    Inner {
        /// The call's own error.
        error: E,
        /// How many attempts were made, refused ones included.
        attempts: u32,
        /// Why no more were made.
        stop: StopReason,
    },
}

impl<E> RetryError<E> {
    pub(crate) fn new(error: Error<E>, attempts: u32, stop: StopReason) -> Self {
        match error {
            Error::Open(open) => RetryError::Open {
                open,
                attempts,
                stop,
            },
            Error::Inner(error) => RetryError::Inner {
                error,
                attempts,
                stop,
            },
        }
    }

    /// Why no more attempts were made: every one allowed was, the error is not one to retry,
    /// the circuit is open, the retry budget is spent, ...
    pub fn stop_reason(&self) -> StopReason {
        match self {
            RetryError::Open { stop, .. } | RetryError::Inner { stop, .. } => *stop,
        }
    }

    /// How many attempts were made, refused ones included.
    pub fn attempts(&self) -> u32 {
        match self {
            RetryError::Open { attempts, .. } | RetryError::Inner { attempts, .. } => *attempts,
        }
    }

    /// The refusal or the call's own last error, converted into one error type `R`, as
    /// [`Error::into_error`] does: for `?` in functions that return your own error enum,
    /// `anyhow::Result` or a boxed error. (`Error::from` gives the last attempt's error as a
    /// single call's.)
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::{Breaker, Open};
    /// use failfast::retry::{Retry, RetryError, Wait};
    ///
    /// #[derive(Debug, thiserror::Error)]
    /// enum ApiError {
    ///     #[error("HTTP {0}")]
    ///     Status(u16),
    ///     #[error(transparent)]
    ///     Open(#[from] Open),
    /// }
    ///
    /// fn fetch(breaker: &Breaker, retry: &Retry) -> Result<u32, ApiError> {
    ///     let answer = retry.call(breaker, || Err(ApiError::Status(503)));
    ///     // With `?`, name the type: `?` converts again, so it cannot be inferred.
    ///     let count = answer.map_err(RetryError::into_error::<ApiError>)?;
    ///     Ok(count)
    /// }
    ///
    /// fn fetch_any(breaker: &Breaker, retry: &Retry) -> anyhow::Result<u32> {
    ///     let answer = retry.call(breaker, || Err(ApiError::Status(503)));
    ///     Ok(answer.map_err(RetryError::into_error::<anyhow::Error>)?)
    /// }
    ///
    /// let breaker = Breaker::new("catalog", Duration::from_secs(60));
    /// let retry = Retry::builder().attempts(2).wait(Wait::fixed(Duration::ZERO)).build()?;
    /// assert!(matches!(fetch(&breaker, &retry), Err(ApiError::Status(503))));
    /// assert!(matches!(fetch(&breaker, &retry), Err(ApiError::Open(_))));
    /// assert!(fetch_any(&breaker, &retry).unwrap_err().is::<Open>());
    /// # Ok::<(), failfast::ConfigError>(())
    /// ```
    pub fn into_error<R>(self) -> R
    where
        R: From<Open> + From<E>,
    {
        Error::from(self).into_error()
    }

    /// The call's own last error, or `None` if the last attempt was refused.
    pub fn into_inner(self) -> Option<E> {
        match self {
            RetryError::Open { .. } => None,
            RetryError::Inner { error, .. } => Some(error),
        }
    }

    /// The call's own last error, by reference.
    pub fn inner(&self) -> Option<&E> {
        match self {
            RetryError::Open { .. } => None,
            RetryError::Inner { error, .. } => Some(error),
        }
    }

    /// The refusal, if the last attempt was refused by an open circuit.
    pub fn as_open(&self) -> Option<&Open> {
        match self {
            RetryError::Open { open, .. } => Some(open),
            RetryError::Inner { .. } => None,
        }
    }
}

impl<E> From<RetryError<E>> for Error<E> {
    /// The last attempt's error, as a single call's: the refusal, or the call's own error.
    fn from(error: RetryError<E>) -> Self {
        match error {
            RetryError::Open { open, .. } => Error::Open(open),
            RetryError::Inner { error, .. } => Error::Inner(error),
        }
    }
}

impl<E: fmt::Display> fmt::Display for RetryError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RetryError::Open { open, .. } => write!(f, "{open}")?,
            RetryError::Inner { error, .. } => write!(f, "{error}")?,
        }
        match (self.attempts(), self.stop_reason()) {
            (1, StopReason::NotRetryable) => Ok(()),
            (1, stop) => write!(f, " (gave up after 1 attempt: {stop})"),
            (n, StopReason::Attempts) => write!(f, " (gave up after {n} attempts)"),
            (n, stop) => write!(f, " (gave up after {n} attempts: {stop})"),
        }
    }
}

/// Its message already carries the last error's (`HTTP 503 (gave up after 3 attempts)`), so
/// its source is that error's source, as for [`Error`]: a report that prints the chain
/// (anyhow's `{:#}`) does not print the last error twice. [`RetryError::inner`] gives the
/// error itself.
impl<E: std::error::Error + 'static> std::error::Error for RetryError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RetryError::Open { .. } => None,
            RetryError::Inner { error, .. } => error.source(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retry_error_is_one_word_larger_than_a_single_call_s_error_at_most() {
        use std::mem::size_of;
        assert!(
            size_of::<Result<u64, RetryError<u32>>>() <= size_of::<Result<u64, Error<u32>>>() + 8
        );
    }
}
