//! What a breaker has counted: [`Stats`], kept in per-thread cells so that counting never makes
//! two threads write to the same memory.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use thread_local::ThreadLocal;

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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
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

/// One thread's counters. Only its own thread writes them, so a plain load and store count
/// exactly, at the cost of an ordinary increment; other threads only read them.
///
/// Aligned to 128 bytes so that two threads' counters never share a cache line (nor the pair of
/// lines some processors fetch together), and boxed, made by a cold function: an over-aligned
/// value created in place would make the hot path realign its stack frame.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Cell {
    successes: AtomicU64,
    failures: AtomicU64,
    ignored: AtomicU64,
    slow: AtomicU64,
    rejected: AtomicU64,
}

#[cold]
#[inline(never)]
fn new_cell() -> Box<Cell> {
    Box::default()
}

/// Which counter to bump.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Counter {
    Success,
    Failure,
    Ignored,
    Slow,
    Rejected,
}

/// The per-thread cells of one breaker.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    cells: ThreadLocal<Box<Cell>>,
}

impl Counters {
    #[inline(always)]
    pub(crate) fn bump(&self, counter: Counter) {
        let cell = self.cells.get_or(new_cell);
        let slot = match counter {
            Counter::Success => &cell.successes,
            Counter::Failure => &cell.failures,
            Counter::Ignored => &cell.ignored,
            Counter::Slow => &cell.slow,
            Counter::Rejected => &cell.rejected,
        };
        slot.store(slot.load(Relaxed) + 1, Relaxed);
    }

    /// Sums every thread's cells.
    pub(crate) fn sum(&self, transitions: u64) -> Stats {
        let mut stats = Stats {
            transitions,
            ..Stats::default()
        };
        for cell in self.cells.iter() {
            stats.successes += cell.successes.load(Relaxed);
            stats.failures += cell.failures.load(Relaxed);
            stats.ignored += cell.ignored.load(Relaxed);
            stats.slow += cell.slow.load(Relaxed);
            stats.rejected += cell.rejected.load(Relaxed);
        }
        stats.calls = stats.successes + stats.failures + stats.ignored;
        stats
    }
}
