//! How many retries a circuit may take: [`RetryBudget`], and the ledger each breaker keeps of
//! its retries.

use std::sync::Mutex;
use std::time::Duration;

use crate::breaker::Breaker;
use crate::error::ConfigError;

/// The window over which retries are counted against calls.
pub(crate) const WINDOW: Duration = Duration::from_secs(10);
/// The slices of the window, each counted apart.
const SLICES: usize = 10;

/// How many retries a circuit may take, so that retrying cannot multiply the load on a
/// struggling dependency (Finagle's and Envoy's retry budgets): over the last 10 seconds, at
/// most `ratio` retries per call made through the breaker, plus `per_second` retries a second
/// so that a quiet service can still retry. A retry beyond the budget is not made: the call
/// returns its last error.
///
/// In numbers: a retry is allowed while the retries of the last 10 s are fewer than
/// `ratio × first attempts in the last 10 s + per_second × 10`. The second term is a reserve,
/// which a burst may spend at once: the default, as Finagle's (20% of calls, plus 10 retries
/// a second), allows 100 retries to a quiet circuit, and 100 + 200 when 1,000 first attempts
/// were made since the window's first retry. A retry
/// refused by the budget ends the call with
/// [`StopReason::Budget`](super::StopReason::Budget).
///
/// Retries are counted per breaker, whichever policies make them, on the breaker's clock. A
/// disabled breaker ([`Breaker::set_enabled`](crate::Breaker::set_enabled)) limits no
/// retries, as it refuses no calls.
/// First attempts are the breaker's own count of calls less the retries, counted from the
/// first retry of the window on (a call that succeeds at once costs nothing more): the
/// calls made before a window's first retry are not part of its ratio.
///
/// ```
/// use failfast::retry::{Retry, RetryBudget};
/// let retry = Retry::builder()
///     .budget(RetryBudget::new(0.1, 2))   // 10% of calls, plus 2 retries a second
///     .build()?;
/// # let _ = retry;
/// # Ok::<(), failfast::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryBudget {
    ratio: f64,
    per_second: u32,
}

impl RetryBudget {
    /// At most `ratio` retries per call over the last 10 s, plus `per_second` a second.
    pub fn new(ratio: f64, per_second: u32) -> Self {
        RetryBudget { ratio, per_second }
    }

    /// No limit on retries.
    pub fn unlimited() -> Self {
        RetryBudget {
            ratio: f64::INFINITY,
            per_second: u32::MAX,
        }
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if self.ratio.is_nan() || self.ratio < 0.0 {
            return Err(ConfigError::new(
                "budget ratio",
                "a number of at least 0.0",
                self.ratio,
            ));
        }
        Ok(())
    }

    /// Takes one retry from `breaker`'s budget, if there is one left.
    /// An unlimited budget grants every retry, and still counts it: other policies' budgets
    /// on the same breaker see it.
    pub(crate) fn withdraw(&self, breaker: &Breaker) -> bool {
        if !breaker.is_enabled() {
            // A disabled breaker keeps out of the way: it refuses no call, counts none (so it
            // has no share of calls to grant retries from), and limits no retry.
            return true;
        }
        let calls = breaker.stats().calls;
        breaker
            .retry_ledger()
            .withdraw(breaker.clock_now(), calls, self)
    }
}

impl Default for RetryBudget {
    fn default() -> Self {
        RetryBudget::new(0.2, 10)
    }
}

/// One breaker's retries over the last [`WINDOW`], slice by slice.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    slices: Mutex<[Slice; SLICES]>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Slice {
    /// Which slice of time this is (the time divided by the slice's width), plus one: zero
    /// for a slice not used yet.
    epoch: u64,
    /// The breaker's count of calls when the slice began.
    calls_before: u64,
    /// Retries made in the slice.
    retries: u64,
}

impl Ledger {
    /// Counts one retry at `now`, when the breaker has made `calls` calls, if the budget
    /// allows it.
    fn withdraw(&self, now: Duration, calls: u64, budget: &RetryBudget) -> bool {
        let width = WINDOW.as_nanos() / SLICES as u128;
        let epoch = u64::try_from(now.as_nanos() / width).unwrap_or(u64::MAX - 1) + 1;
        let mut slices = self.slices.lock().unwrap_or_else(|p| p.into_inner());
        let current = &mut slices[(epoch % SLICES as u64) as usize];
        if current.epoch != epoch {
            *current = Slice {
                epoch,
                calls_before: calls,
                retries: 0,
            };
        }
        let live = slices
            .iter()
            .filter(|s| s.epoch != 0 && s.epoch + SLICES as u64 > epoch);
        let (retries, calls_before) = live.fold((0, calls), |(retries, before), s| {
            (retries + s.retries, before.min(s.calls_before))
        });
        // First attempts: the calls of the window that were not retries.
        let first_attempts = calls.saturating_sub(calls_before).saturating_sub(retries);
        let allowed = budget.ratio * first_attempts as f64
            + f64::from(budget.per_second) * WINDOW.as_secs_f64();
        let unlimited = budget.ratio == f64::INFINITY;
        if unlimited || (retries as f64) < allowed {
            slices[(epoch % SLICES as u64) as usize].retries += 1;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    #[test]
    fn a_quiet_circuit_still_gets_its_retries_a_second() {
        let ledger = Ledger::default();
        let budget = RetryBudget::new(0.2, 1); // 10 over the window
        let granted = (0..15).filter(|_| ledger.withdraw(SEC, 0, &budget)).count();
        assert_eq!(granted, 10);
    }

    #[test]
    fn retries_are_a_ratio_of_first_attempts() {
        let ledger = Ledger::default();
        let budget = RetryBudget::new(0.2, 0);
        assert!(
            !ledger.withdraw(SEC, 0, &budget),
            "no calls yet: no retries"
        );
        // 100 calls made since: 20 retries, each itself a call.
        let mut calls = 100;
        let mut granted = 0;
        while ledger.withdraw(2 * SEC, calls, &budget) {
            granted += 1;
            calls += 1;
        }
        assert_eq!(granted, 20);
    }

    #[test]
    fn retries_older_than_the_window_are_forgotten() {
        let ledger = Ledger::default();
        let budget = RetryBudget::new(0.0, 1);
        let at_start = (0..20).filter(|_| ledger.withdraw(SEC, 0, &budget)).count();
        assert_eq!(at_start, 10);
        assert!(
            !ledger.withdraw(10 * SEC, 0, &budget),
            "still in the window"
        );
        assert!(
            ledger.withdraw(11 * SEC, 0, &budget),
            "the first slice has gone"
        );
    }
}
