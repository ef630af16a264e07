//! What a retried call returns when it gives up: [`RetryError`].

use std::fmt;

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
#[derive(Debug)]
pub struct RetryError<E> {
    error: Error<E>,
    attempts: u32,
}

impl<E> RetryError<E> {
    pub(crate) fn new(error: Error<E>, attempts: u32) -> Self {
        RetryError { error, attempts }
    }

    /// How many attempts were made, refused ones included.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The last attempt's error.
    pub fn error(&self) -> &Error<E> {
        &self.error
    }

    /// The last attempt's error, by value.
    pub fn into_error(self) -> Error<E> {
        self.error
    }

    /// The call's own last error, or `None` if the last attempt was refused.
    pub fn into_inner(self) -> Option<E> {
        self.error.into_inner()
    }

    /// The refusal, if the last attempt was refused by an open circuit.
    pub fn as_open(&self) -> Option<&Open> {
        self.error.as_open()
    }
}

impl<E: fmt::Display> fmt::Display for RetryError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let attempts = match self.attempts {
            1 => "1 attempt".to_owned(),
            n => format!("{n} attempts"),
        };
        write!(f, "{} (gave up after {attempts})", self.error)
    }
}

impl<E: std::error::Error + 'static> std::error::Error for RetryError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.error {
            Error::Open(open) => Some(open),
            Error::Inner(inner) => Some(inner),
        }
    }
}
