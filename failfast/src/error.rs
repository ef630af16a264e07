//! What a guarded call can return: [`Error`], its [`Open`] rejection, [`TimedOut`], and
//! [`ConfigError`].

use std::fmt;
use std::time::Duration;

use crate::clock::{ClockHandle, MAX_NANOS};
use crate::name::Name;

/// The result of a guarded call that did not succeed: the circuit refused it, or it ran and
/// returned its own error.
///
/// ```
/// use std::time::Duration;
/// use failfast::{Breaker, Error};
///
/// let breaker = Breaker::new("payments", Duration::from_secs(60));
/// match breaker.call(|| Err::<u32, _>("timeout")) {
///     Err(Error::Inner(e)) => assert_eq!(e, "timeout"),
///     other => panic!("unexpected {other:?}"),
/// }
/// // The failure opened the circuit: the next call does not run.
/// let next = breaker.call(|| Ok::<u32, &str>(1));
/// assert!(next.unwrap_err().is_open());
/// ```
///
/// `Error` is transparent over the call's own error: [`Error::Inner`] displays as `E` does and
/// its [`source`](std::error::Error::source) is `E`'s, so that error reporters (`anyhow`'s
/// `{:#}`, `tracing`'s error chains) show the whole chain of causes. So `Error<E>` is a
/// [`std::error::Error`] when `E` is one; for an `E` that is not (`anyhow::Error`, `String`,
/// `Box<dyn Error>`), [`into_error`](Error::into_error) converts it into one.
#[derive(Debug)]
pub enum Error<E> {
    /// The circuit is open (or its probes are all taken): the call was not made.
    Open(Open),
    /// The call ran and returned this error.
    Inner(E),
}

impl<E: fmt::Display> fmt::Display for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Open(open) => fmt::Display::fmt(open, f),
            Error::Inner(inner) => fmt::Display::fmt(inner, f),
        }
    }
}

impl<E: std::error::Error> std::error::Error for Error<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Open(_) => None,
            Error::Inner(inner) => inner.source(),
        }
    }
}

impl<E> Error<E> {
    /// The call's own error, or `None` if the call was refused.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::Breaker;
    /// let breaker = Breaker::new("db", Duration::from_secs(60));
    /// let failed = breaker.call(|| Err::<(), _>("deadlock")).unwrap_err();
    /// assert_eq!(failed.into_inner(), Some("deadlock"));
    /// let refused = breaker.call(|| Err::<(), _>("deadlock")).unwrap_err();
    /// assert_eq!(refused.into_inner(), None);
    /// ```
    pub fn into_inner(self) -> Option<E> {
        match self {
            Error::Inner(inner) => Some(inner),
            Error::Open(_) => None,
        }
    }

    /// Whether the call was refused because the circuit is open.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::Breaker;
    /// let breaker = Breaker::new("db", Duration::from_secs(60));
    /// breaker.force_open(Duration::from_secs(60));
    /// assert!(breaker.call(|| Ok::<_, ()>(())).unwrap_err().is_open());
    /// ```
    pub fn is_open(&self) -> bool {
        matches!(self, Error::Open(_))
    }

    /// The rejection, if the call was refused.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::Breaker;
    /// let breaker = Breaker::new("db", Duration::from_secs(60));
    /// breaker.force_open(Duration::from_secs(60));
    /// let err = breaker.call(|| Ok::<_, ()>(())).unwrap_err();
    /// assert_eq!(err.as_open().map(|open| open.name()), Some("db"));
    /// ```
    pub fn as_open(&self) -> Option<&Open> {
        match self {
            Error::Open(open) => Some(open),
            Error::Inner(_) => None,
        }
    }

    /// Applies `f` to the call's own error, keeping a rejection as it is.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::Breaker;
    /// let breaker = Breaker::new("db", Duration::from_secs(60));
    /// let err = breaker.call(|| Err::<(), _>("timeout")).unwrap_err();
    /// let err = err.map_inner(|e| format!("database: {e}"));
    /// assert_eq!(err.to_string(), "database: timeout");
    /// ```
    pub fn map_inner<F, O>(self, f: O) -> Error<F>
    where
        O: FnOnce(E) -> F,
    {
        match self {
            Error::Open(open) => Error::Open(open),
            Error::Inner(inner) => Error::Inner(f(inner)),
        }
    }
}

impl<E> Error<E> {
    /// The rejection or the call's own error, converted into one error type `R`: for `?` in
    /// functions that return `anyhow::Result`, `Result<_, Box<dyn Error + Send + Sync>>` or an
    /// error enum of one's own, whatever `E` is (`anyhow::Error` and `String` included). The
    /// rejection stays an [`Open`], which `R` can be downcast to.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::{Breaker, Error, Open};
    ///
    /// fn fetch(breaker: &Breaker) -> anyhow::Result<u32> {
    ///     let answer = breaker.call(|| Err::<u32, _>(anyhow::anyhow!("connection reset")));
    ///     Ok(answer.map_err(Error::into_error::<anyhow::Error>)?)
    /// }
    ///
    /// type BoxError = Box<dyn std::error::Error + Send + Sync>;
    /// fn fetch_boxed(breaker: &Breaker) -> Result<u32, BoxError> {
    ///     let answer = breaker.call(|| Err::<u32, String>("connection reset".into()));
    ///     Ok(answer.map_err(Error::into_error::<BoxError>)?)
    /// }
    ///
    /// let breaker = Breaker::new("catalog", Duration::from_secs(60));
    /// assert_eq!(fetch(&breaker).unwrap_err().to_string(), "connection reset");
    /// assert!(fetch(&breaker).unwrap_err().downcast_ref::<Open>().is_some());
    /// assert!(fetch_boxed(&breaker).unwrap_err().is::<Open>());
    /// ```
    pub fn into_error<R>(self) -> R
    where
        R: From<Open> + From<E>,
    {
        match self {
            Error::Open(open) => R::from(open),
            Error::Inner(inner) => R::from(inner),
        }
    }
}

impl<E> From<Open> for Error<E> {
    fn from(open: Open) -> Self {
        Error::Open(open)
    }
}

/// A call refused without running because the circuit is open.
///
/// It names the circuit and tells when a call may be let through again.
///
/// ```
/// use std::time::Duration;
/// use failfast::{Breaker, ManualClock};
///
/// let clock = ManualClock::new();
/// let breaker = Breaker::builder("search")
///     .open_for(Duration::from_secs(10))
///     .clock(clock.clone())
///     .build()
///     .unwrap();
/// breaker.force_open(Duration::from_secs(10));
/// clock.advance(Duration::from_secs(4));
/// // Refused without running, with the circuit's name and the time left.
/// let open = breaker.try_acquire().unwrap_err();
/// assert_eq!(open.name(), "search");
/// assert_eq!(open.retry_in(), Duration::from_secs(6));
/// assert_eq!(open.to_string(), "circuit `search` is open; retry in 6s");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Open {
    name: Name,
    /// When a call may be retried, in the terms of the circuit's clock: with [`RETRY_AFTER`]
    /// set, nanoseconds after the refusal, as read from a clock of the caller's; otherwise the
    /// reading of the system clock to wait for, and `retry_in` is worked out when asked. One
    /// word, so that a `Result` holding an `Open` stays small.
    retry: u64,
}

const RETRY_AFTER: u64 = 1 << 63;

impl Open {
    /// A refusal until `retry_at` on `clock`. The system clock needs no reading now; another
    /// clock is read once, so that the refusal need not hold on to it.
    #[inline(always)]
    pub(crate) fn new(name: Name, retry_at: u64, clock: &ClockHandle) -> Self {
        let retry = match clock {
            ClockHandle::System if retry_at & RETRY_AFTER == 0 => retry_at,
            _ => Self::retry_after(retry_at, clock),
        };
        Open { name, retry }
    }

    /// The time left until `retry_at`, as of now: for custom clocks, and for the system clock's
    /// open periods near the longest a breaker keeps, whose end is too far to mark absolutely.
    #[cold]
    #[inline(never)]
    fn retry_after(retry_at: u64, clock: &ClockHandle) -> u64 {
        RETRY_AFTER | retry_at.saturating_sub(clock.now()).min(MAX_NANOS)
    }

    /// The name of the circuit that refused the call.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::Breaker;
    /// let breaker = Breaker::new("db", Duration::from_secs(60));
    /// breaker.force_open(Duration::from_secs(60));
    /// assert_eq!(breaker.try_acquire().unwrap_err().name(), "db");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How long until the circuit may let a call through: the end of its open period, or, when
    /// all half-open probes are taken, the moment the oldest probe's permit expires. Zero when
    /// that moment has passed. On the system clock this is worked out when asked; on a clock
    /// given to [`Builder::clock`](crate::Builder::clock) it is as of the refusal.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::Breaker;
    /// let breaker = Breaker::new("db", Duration::from_secs(60));
    /// breaker.force_open(Duration::from_secs(60));
    /// let open = breaker.try_acquire().unwrap_err();
    /// assert!(open.retry_in() <= Duration::from_secs(60));
    /// assert!(open.retry_in() > Duration::from_secs(50));
    /// ```
    pub fn retry_in(&self) -> Duration {
        Duration::from_nanos(if self.retry & RETRY_AFTER == 0 {
            self.retry.saturating_sub(ClockHandle::System.now())
        } else {
            self.retry & !RETRY_AFTER
        })
    }

    /// [`retry_in`](Self::retry_in) as an HTTP `Retry-After` value: whole seconds, rounded up
    /// so that a client that waits that long finds the open period over, and at least 1.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::Breaker;
    /// let breaker = Breaker::new("db", Duration::from_millis(9500));
    /// breaker.force_open(Duration::from_millis(9500));
    /// assert_eq!(breaker.try_acquire().unwrap_err().retry_after_secs(), 10);
    /// ```
    pub fn retry_after_secs(&self) -> u64 {
        let retry_in = self.retry_in();
        let whole = retry_in.as_secs() + u64::from(retry_in.subsec_nanos() > 0);
        whole.max(1)
    }
}

impl fmt::Debug for Open {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Open")
            .field("name", &self.name)
            .field("retry_in", &self.retry_in())
            .finish()
    }
}

impl fmt::Display for Open {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "circuit `{}` is open; {}",
            self.name,
            RetryIn(self.retry_in())
        )
    }
}

/// `retry in 1.5s`, in whole milliseconds rounded up (precise enough to act on, short enough to
/// log), or `retry now`: how a refusal and an open [`State`](crate::State) print the wait.
pub(crate) struct RetryIn(pub(crate) Duration);

impl fmt::Display for RetryIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let millis = self.0.as_nanos().div_ceil(1_000_000);
        if millis == 0 {
            return f.write_str("retry now");
        }
        let retry_in = Duration::from_millis(u64::try_from(millis).unwrap_or(u64::MAX));
        write!(f, "retry in {retry_in:?}")
    }
}

impl std::error::Error for Open {}

/// A refusal as an `io::Error` of kind [`Other`](std::io::ErrorKind::Other) that holds the
/// `Open`, so that a function returning `io::Result` can be guarded: the `Open` is found again
/// with `get_ref()` and `downcast_ref::<Open>()`.
///
/// ```
/// use std::{io, time::Duration};
/// use failfast::{Breaker, Open};
///
/// let breaker = Breaker::new("disk", Duration::from_secs(10));
/// breaker.force_open(Duration::from_secs(10));
/// let error = io::Error::from(breaker.try_acquire().unwrap_err());
/// assert_eq!(error.kind(), io::ErrorKind::Other);
/// assert!(error.get_ref().unwrap().downcast_ref::<Open>().is_some());
/// ```
impl From<Open> for std::io::Error {
    fn from(open: Open) -> Self {
        std::io::Error::other(open)
    }
}

/// A guarded call that did not finish within its time limit
/// ([`Breaker::run_within`](crate::Breaker::run_within), a retry's `call_timeout`). It counts as
/// a failure of the circuit, and reaches the caller through the call's own error type, which
/// must implement `From<TimedOut>`.
///
/// ```
/// use std::time::Duration;
/// use failfast::TimedOut;
///
/// #[derive(Debug, thiserror::Error)]
/// enum ApiError {
///     #[error(transparent)]
///     TimedOut(#[from] TimedOut),
///     #[error("server error {0}")]
///     Status(u16),
/// }
/// let error = ApiError::from(TimedOut::after(Duration::from_secs(3)));
/// assert_eq!(error.to_string(), "no answer within 3s");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no answer within {limit:?}")]
pub struct TimedOut {
    limit: Duration,
}

/// A time-out as an `io::Error` of kind [`TimedOut`](std::io::ErrorKind::TimedOut) that holds
/// the `TimedOut`, so that a function returning `io::Result` can have a `call_timeout`.
///
/// ```
/// use std::{io, time::Duration};
/// use failfast::TimedOut;
///
/// let error = io::Error::from(TimedOut::after(Duration::from_secs(3)));
/// assert_eq!(error.kind(), io::ErrorKind::TimedOut);
/// assert_eq!(error.to_string(), "no answer within 3s");
/// ```
impl From<TimedOut> for std::io::Error {
    fn from(timed_out: TimedOut) -> Self {
        std::io::Error::new(std::io::ErrorKind::TimedOut, timed_out)
    }
}

impl TimedOut {
    /// A call cut short after `limit`.
    pub fn after(limit: Duration) -> Self {
        TimedOut { limit }
    }

    /// The time limit the call exceeded.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::TimedOut;
    /// assert_eq!(TimedOut::after(Duration::from_secs(3)).limit(), Duration::from_secs(3));
    /// ```
    pub fn limit(&self) -> Duration {
        self.limit
    }
}

/// A breaker setting outside its allowed range, found by [`Builder::build`](crate::Builder::build).
///
/// ```
/// use failfast::{Breaker, ConfigError, TripPolicy};
///
/// let err = Breaker::builder("db")
///     .trip(TripPolicy::consecutive_failures(0))
///     .build()
///     .unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "invalid `consecutive_failures`: must be at least 1, got 0"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid `{setting}`: must be {allowed}, got {got}")]
pub struct ConfigError {
    setting: &'static str,
    allowed: &'static str,
    got: String,
}

impl ConfigError {
    pub(crate) fn new(setting: &'static str, allowed: &'static str, got: impl fmt::Debug) -> Self {
        ConfigError {
            setting,
            allowed,
            got: format!("{got:?}"),
        }
    }

    /// The setting at fault, as named in the builder: `"failure_rate"`, `"probes"`, ...
    ///
    /// ```
    /// use failfast::Breaker;
    /// let err = Breaker::builder("db").probes(0).build().unwrap_err();
    /// assert_eq!(err.setting(), "probes");
    /// ```
    pub fn setting(&self) -> &'static str {
        self.setting
    }

    /// The values the setting accepts, in words.
    ///
    /// ```
    /// use failfast::Breaker;
    /// let err = Breaker::builder("db").probes(0).build().unwrap_err();
    /// assert_eq!(err.allowed(), "at least 1");
    /// ```
    pub fn allowed(&self) -> &'static str {
        self.allowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rejection_is_three_words_and_a_result_holding_one_no_more() {
        assert_eq!(std::mem::size_of::<Open>(), 24);
        assert_eq!(std::mem::size_of::<Result<u64, Open>>(), 24);
    }

    #[test]
    fn a_rejection_says_retry_now_rather_than_in_zero_time() {
        let clock = crate::ManualClock::new();
        let handle = ClockHandle::Custom(std::sync::Arc::new(clock.clone()));
        let now = handle.now();
        let open = Open::new(Name::from("db"), now, &handle);
        assert_eq!(open.to_string(), "circuit `db` is open; retry now");
        let open = Open::new(Name::from("db"), now + 1, &handle);
        assert_eq!(open.to_string(), "circuit `db` is open; retry in 1ms");
    }
}
