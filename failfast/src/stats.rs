//! What a breaker has counted: [`Stats`].

use crate::thread_counts::Counted;

/// A breaker's counts since it was built, as returned by [`Breaker::stats`](crate::Breaker::stats).
///
/// ```
/// use std::time::Duration;
/// use failfast::Breaker;
///
/// let breaker = Breaker::new("geo", Duration::from_secs(1));
/// let _ = breaker.call(|| Ok::<_, ()>(1));
/// let _ = breaker.call(|| Err::<u8, _>(()));
/// let _ = breaker.call(|| Ok::<_, ()>(2)); // refused: the failure opened the circuit
/// let stats = breaker.stats();
/// assert_eq!((stats.calls, stats.successes, stats.failures, stats.rejected), (2, 1, 1, 1));
/// assert_eq!(stats.transitions, 1);
/// ```
///
/// With the `serde` feature, stats are an object of their counts:
/// `{"calls":2,"successes":1,"failures":1,"ignored":0,"slow":0,"rejected":1,"transitions":1}`.
/// A count missing when read back is zero, so that stats written by another version read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
#[non_exhaustive]
pub struct Stats {
    /// Calls that ran: `successes + failures + ignored`.
    pub calls: u64,
    /// Calls that succeeded.
    pub successes: u64,
    /// Calls whose error counted against the circuit, and calls that panicked.
    pub failures: u64,
    /// Calls whose error did not count (see [`Breaker::call_if`](crate::Breaker::call_if)).
    pub ignored: u64,
    /// Calls, of any outcome, that took at least the slow-call threshold.
    pub slow: u64,
    /// Calls refused without running.
    pub rejected: u64,
    /// Phase changes of the circuit, whoever caused them.
    pub transitions: u64,
}

impl Stats {
    pub(crate) fn new(counted: Counted, transitions: u64) -> Stats {
        Stats {
            calls: counted.successes + counted.failures + counted.ignored,
            successes: counted.successes,
            failures: counted.failures,
            ignored: counted.ignored,
            slow: counted.slow,
            rejected: counted.rejected,
            transitions,
        }
    }
}
