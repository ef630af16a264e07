//! When to trip: the [`TripPolicy`] a breaker is built with, and the counters that apply it.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crate::circuit::precedes;
use crate::clock::nanos;
use crate::error::ConfigError;
use crate::event::Reason;
use crate::sync::{Mutex, lock};
use crate::window::{RateWindow, Window};

/// When a closed circuit opens.
///
/// ```
/// use std::time::Duration;
/// use failfast::{Breaker, TripPolicy, Window};
///
/// // Open after 5 failures in a row.
/// let a = TripPolicy::consecutive_failures(5);
/// // Open when half of the last 100 calls failed, once at least 20 were made.
/// let b = TripPolicy::failure_rate(0.5, Window::LastCalls(100)).min_calls(20);
/// // Open when a quarter of the last minute's calls failed, or 80% took over 2 s.
/// let c = TripPolicy::failure_rate(0.25, Window::Time(Duration::from_secs(60)))
///     .slow_calls(Duration::from_secs(2), 0.8);
/// // Open on slowness alone.
/// let d = TripPolicy::slow_call_rate(Duration::from_millis(500), 0.5, Window::LastCalls(50));
/// for policy in [a, b, c, d] {
///     assert!(Breaker::builder("api").trip(policy).build().is_ok());
/// }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct TripPolicy {
    rule: Rule,
    min_calls: Option<u32>,
    slow: Option<SlowCalls>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Rule {
    ConsecutiveFailures(u32),
    Rate {
        failure_rate: Option<f64>,
        window: Window,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct SlowCalls {
    threshold: Duration,
    rate: f64,
}

/// The minimum number of calls of a rate policy when none is given (or the window's size, if smaller).
const DEFAULT_MIN_CALLS: u32 = 10;

impl TripPolicy {
    /// Opens after `count` counted failures in a row; a success starts the count again.
    /// `consecutive_failures(1)` is the default: the first failure opens the circuit.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::{Breaker, TripPolicy, Window};
    /// let breaker = Breaker::builder("api")
    ///     .trip(TripPolicy::consecutive_failures(5))
    ///     .build()?;
    /// # let _ = breaker;
    /// # Ok::<(), failfast::ConfigError>(())
    /// ```
    pub fn consecutive_failures(count: u32) -> Self {
        TripPolicy {
            rule: Rule::ConsecutiveFailures(count),
            min_calls: None,
            slow: None,
        }
    }

    /// Opens when the share of failed calls in `window` reaches `rate`, in `(0, 1]`, once the
    /// window holds at least [`min_calls`](Self::min_calls) calls.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::{Breaker, TripPolicy, Window};
    /// let breaker = Breaker::builder("api")
    ///     .trip(TripPolicy::failure_rate(0.5, Window::LastCalls(100)))
    ///     .build()?;
    /// # let _ = breaker;
    /// # Ok::<(), failfast::ConfigError>(())
    /// ```
    pub fn failure_rate(rate: f64, window: Window) -> Self {
        TripPolicy {
            rule: Rule::Rate {
                failure_rate: Some(rate),
                window,
            },
            min_calls: None,
            slow: None,
        }
    }

    /// Opens when the share of calls in `window` that took at least `threshold` reaches `rate`,
    /// whether they succeeded or not; failures alone never open it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::{Breaker, TripPolicy, Window};
    /// let breaker = Breaker::builder("api")
    ///     .trip(TripPolicy::slow_call_rate(Duration::from_secs(1), 0.5, Window::Time(Duration::from_secs(60))))
    ///     .build()?;
    /// # let _ = breaker;
    /// # Ok::<(), failfast::ConfigError>(())
    /// ```
    pub fn slow_call_rate(threshold: Duration, rate: f64, window: Window) -> Self {
        TripPolicy {
            rule: Rule::Rate {
                failure_rate: None,
                window,
            },
            min_calls: None,
            slow: Some(SlowCalls { threshold, rate }),
        }
    }

    /// The fewest calls a rate policy's window must hold before it may open the circuit
    /// (default 10; for [`Window::LastCalls`] smaller than 10 calls, the window's size).
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::{Breaker, TripPolicy, Window};
    /// let breaker = Breaker::builder("api")
    ///     .trip(TripPolicy::failure_rate(0.5, Window::LastCalls(100)).min_calls(25))
    ///     .build()?;
    /// # let _ = breaker;
    /// # Ok::<(), failfast::ConfigError>(())
    /// ```
    pub fn min_calls(mut self, calls: u32) -> Self {
        self.min_calls = Some(calls);
        self
    }

    /// Also opens when the share of calls taking at least `threshold` reaches `rate`. A slow
    /// success counts toward this rate, and is still a success.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::{Breaker, TripPolicy, Window};
    /// let breaker = Breaker::builder("api")
    ///     .trip(TripPolicy::failure_rate(0.5, Window::LastCalls(100)).slow_calls(Duration::from_millis(800), 0.7))
    ///     .build()?;
    /// # let _ = breaker;
    /// # Ok::<(), failfast::ConfigError>(())
    /// ```
    pub fn slow_calls(mut self, threshold: Duration, rate: f64) -> Self {
        self.slow = Some(SlowCalls { threshold, rate });
        self
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        match self.rule {
            Rule::ConsecutiveFailures(count) => {
                if count == 0 {
                    return Err(ConfigError::new(
                        "consecutive_failures",
                        "at least 1",
                        count,
                    ));
                }
                if let Some(calls) = self.min_calls {
                    return Err(ConfigError::new(
                        "min_calls",
                        "used only with a rate policy, not with consecutive_failures",
                        calls,
                    ));
                }
                if let Some(slow) = self.slow {
                    return Err(ConfigError::new(
                        "slow_calls",
                        "used only with a rate policy, not with consecutive_failures",
                        slow.threshold,
                    ));
                }
            }
            Rule::Rate {
                failure_rate,
                window,
            } => {
                if let Some(rate) = failure_rate {
                    check_rate("failure_rate", rate)?;
                }
                match window {
                    Window::LastCalls(size) if size == 0 || size > Window::MAX_CALLS => {
                        return Err(ConfigError::new(
                            "Window::LastCalls",
                            "from 1 to Window::MAX_CALLS (100000) calls",
                            size,
                        ));
                    }
                    Window::Time(span) if span.is_zero() => {
                        return Err(ConfigError::new("Window::Time", "longer than zero", span));
                    }
                    _ => {}
                }
                if let Some(calls) = self.min_calls {
                    if calls == 0 {
                        return Err(ConfigError::new("min_calls", "at least 1", calls));
                    }
                    if let Window::LastCalls(size) = window {
                        if calls > size {
                            return Err(ConfigError::new(
                                "min_calls",
                                "at most the window's size in calls",
                                calls,
                            ));
                        }
                    }
                }
                if let Some(slow) = self.slow {
                    if slow.threshold.is_zero() {
                        return Err(ConfigError::new(
                            "slow call threshold",
                            "longer than zero",
                            slow.threshold,
                        ));
                    }
                    check_rate("slow call rate", slow.rate)?;
                }
            }
        }
        Ok(())
    }
}

impl Default for TripPolicy {
    fn default() -> Self {
        TripPolicy::consecutive_failures(1)
    }
}

fn check_rate(setting: &'static str, rate: f64) -> Result<(), ConfigError> {
    if rate > 0.0 && rate <= 1.0 {
        Ok(())
    } else {
        Err(ConfigError::new(setting, "in (0.0, 1.0]", rate))
    }
}

/// A counted outcome of a call in the closed phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub(crate) failure: bool,
    /// When the call ended and how long it took, for policies that look at time.
    pub(crate) ended: u64,
    pub(crate) elapsed: u64,
}

/// A trip policy at work: its counters, tagged with the circuit generation they belong to.
#[derive(Debug)]
pub(crate) enum Tripper {
    Consecutive {
        threshold: u32,
        /// The generation (high half) and the failures in a row (low half).
        failures: AtomicU64,
    },
    Rate(Box<RateTripper>),
}

#[derive(Debug)]
pub(crate) struct RateTripper {
    failure_rate: Option<f64>,
    slow: Option<(u64, f64)>,
    min_calls: u32,
    timed: bool,
    window: Mutex<(u32, RateWindow)>,
}

impl Tripper {
    /// Applies a validated policy to a circuit now in `generation`: outcomes of that generation
    /// and later ones count.
    pub(crate) fn new(policy: &TripPolicy, generation: u32) -> Self {
        match policy.rule {
            Rule::ConsecutiveFailures(threshold) => Tripper::Consecutive {
                threshold,
                failures: AtomicU64::new(pack(generation, 0)),
            },
            Rule::Rate {
                failure_rate,
                window,
            } => {
                let min_calls = policy.min_calls.unwrap_or(match window {
                    Window::LastCalls(size) => DEFAULT_MIN_CALLS.min(size),
                    Window::Time(_) => DEFAULT_MIN_CALLS,
                });
                Tripper::Rate(Box::new(RateTripper {
                    failure_rate,
                    slow: policy.slow.map(|s| (nanos(s.threshold), s.rate)),
                    min_calls,
                    timed: policy.slow.is_some() || matches!(window, Window::Time(_)),
                    window: Mutex::new((generation, RateWindow::new(window))),
                }))
            }
        }
    }

    /// Whether outcomes must carry the time: the breaker reads the clock only if so.
    #[inline(always)]
    pub(crate) fn timed(&self) -> bool {
        match self {
            Tripper::Consecutive { .. } => false,
            Tripper::Rate(rate) => rate.timed,
        }
    }

    /// Whether an outcome that took `elapsed` counts as slow.
    #[inline(always)]
    pub(crate) fn is_slow(&self, elapsed: u64) -> bool {
        match self {
            Tripper::Rate(rate) => rate.slow.is_some_and(|(threshold, _)| elapsed >= threshold),
            Tripper::Consecutive { .. } => false,
        }
    }

    /// Counts a success of the closed phase of `generation`. Returns why to open, if it should.
    /// `now` reads the clock, for a time window that must tell a late outcome from a clock that
    /// went back.
    ///
    /// An outcome of an earlier closed phase than the one counted now arrives late (its call
    /// was admitted before the circuit opened and closed again): it changes nothing.
    #[inline(always)]
    pub(crate) fn success(
        &self,
        generation: u32,
        outcome: Outcome,
        now: impl FnOnce() -> u64,
    ) -> Option<Reason> {
        match self {
            Tripper::Consecutive { failures, .. } => {
                // A read, and a write only when there is a count to clear: calls that keep
                // succeeding never write to memory other threads read.
                if failures.load(Relaxed) as u32 != 0 {
                    clear_failures(failures, generation);
                }
                None
            }
            Tripper::Rate(rate) => rate.record(generation, outcome, now),
        }
    }

    /// Counts a failure of the closed phase of `generation`. Returns why to open, if it should.
    pub(crate) fn failure(
        &self,
        generation: u32,
        outcome: Outcome,
        now: impl FnOnce() -> u64,
    ) -> Option<Reason> {
        match self {
            Tripper::Consecutive {
                threshold,
                failures,
            } => {
                let mut count = 0;
                let counted = failures.fetch_update(Relaxed, Relaxed, |packed| {
                    let (counting, in_a_row) = unpack(packed);
                    if precedes(generation, counting) {
                        return None;
                    }
                    let before = if counting == generation { in_a_row } else { 0 };
                    count = before.saturating_add(1);
                    Some(pack(generation, count))
                });
                (counted.is_ok() && count >= *threshold)
                    .then_some(Reason::ConsecutiveFailures(count))
            }
            Tripper::Rate(rate) => rate.record(generation, outcome, now),
        }
    }
}

/// A success of `generation`: the failures in a row of that closed phase start again from zero.
#[cold]
#[inline(never)]
fn clear_failures(failures: &AtomicU64, generation: u32) {
    let _ = failures.fetch_update(Relaxed, Relaxed, |packed| {
        let (counting, in_a_row) = unpack(packed);
        (counting == generation && in_a_row != 0).then(|| pack(generation, 0))
    });
}

/// The generation a consecutive-failure count belongs to (high half) and the count (low half).
fn pack(generation: u32, in_a_row: u32) -> u64 {
    (u64::from(generation) << 32) | u64::from(in_a_row)
}

fn unpack(packed: u64) -> (u32, u32) {
    ((packed >> 32) as u32, packed as u32)
}

impl RateTripper {
    #[inline(never)]
    fn record(
        &self,
        generation: u32,
        outcome: Outcome,
        now: impl FnOnce() -> u64,
    ) -> Option<Reason> {
        let slow = self
            .slow
            .is_some_and(|(threshold, _)| outcome.elapsed >= threshold);
        let counts = {
            let mut window = lock(&self.window);
            if window.0 != generation {
                if precedes(generation, window.0) {
                    return None;
                }
                window.0 = generation;
                window.1.clear();
            }
            window.1.record(outcome.ended, outcome.failure, slow, now)
        };
        if counts.calls < u64::from(self.min_calls) {
            return None;
        }
        let calls = counts.calls as f64;
        if let Some(rate) = self.failure_rate {
            let observed = counts.failures as f64 / calls;
            if observed >= rate {
                return Some(Reason::FailureRate(observed));
            }
        }
        if let Some((_, rate)) = self.slow {
            let observed = counts.slow as f64 / calls;
            if observed >= rate {
                return Some(Reason::SlowCallRate(observed));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ended: u64, elapsed: u64, failure: bool) -> Outcome {
        Outcome {
            failure,
            ended,
            elapsed,
        }
    }

    #[test]
    fn consecutive_failures_trip_at_the_threshold_and_a_success_resets() {
        let tripper = Tripper::new(&TripPolicy::consecutive_failures(3), 0);
        assert_eq!(tripper.failure(0, at(0, 0, true), || 0), None);
        assert_eq!(tripper.failure(0, at(0, 0, true), || 0), None);
        assert_eq!(tripper.success(0, at(0, 0, false), || 0), None);
        assert_eq!(tripper.failure(0, at(0, 0, true), || 0), None);
        assert_eq!(tripper.failure(0, at(0, 0, true), || 0), None);
        assert_eq!(
            tripper.failure(0, at(0, 0, true), || 0),
            Some(Reason::ConsecutiveFailures(3))
        );
    }

    #[test]
    fn a_new_generation_starts_the_count_again() {
        let tripper = Tripper::new(&TripPolicy::consecutive_failures(2), 0);
        assert_eq!(tripper.failure(4, at(0, 0, true), || 0), None);
        assert_eq!(tripper.failure(5, at(0, 0, true), || 0), None);
        assert_eq!(
            tripper.failure(5, at(0, 0, true), || 0),
            Some(Reason::ConsecutiveFailures(2))
        );
    }

    #[test]
    fn a_late_outcome_of_an_earlier_closed_phase_changes_nothing() {
        let tripper = Tripper::new(&TripPolicy::consecutive_failures(3), 0);
        assert_eq!(tripper.failure(6, at(0, 0, true), || 0), None);
        assert_eq!(tripper.success(3, at(0, 0, false), || 0), None);
        assert_eq!(tripper.failure(3, at(0, 0, true), || 0), None);
        assert_eq!(tripper.failure(6, at(0, 0, true), || 0), None);
        assert_eq!(
            tripper.failure(6, at(0, 0, true), || 0),
            Some(Reason::ConsecutiveFailures(3))
        );

        let policy = TripPolicy::failure_rate(1.0, Window::LastCalls(3)).min_calls(3);
        let tripper = Tripper::new(&policy, 0);
        assert_eq!(tripper.failure(6, at(0, 0, true), || 0), None);
        assert_eq!(tripper.success(3, at(0, 0, false), || 0), None);
        assert_eq!(tripper.failure(6, at(0, 0, true), || 0), None);
        assert_eq!(
            tripper.failure(6, at(0, 0, true), || 0),
            Some(Reason::FailureRate(1.0))
        );
    }

    #[test]
    fn a_breaker_joining_a_circuit_far_along_counts_its_outcomes() {
        let generation = (1 << 31) + 7;
        let tripper = Tripper::new(&TripPolicy::consecutive_failures(2), generation);
        assert_eq!(tripper.failure(generation, at(0, 0, true), || 0), None);
        assert_eq!(
            tripper.failure(generation, at(0, 0, true), || 0),
            Some(Reason::ConsecutiveFailures(2))
        );
        let policy = TripPolicy::failure_rate(1.0, Window::LastCalls(2)).min_calls(2);
        let tripper = Tripper::new(&policy, generation);
        assert_eq!(tripper.failure(generation, at(0, 0, true), || 0), None);
        assert_eq!(
            tripper.failure(generation, at(0, 0, true), || 0),
            Some(Reason::FailureRate(1.0))
        );
    }

    #[test]
    fn generations_compare_across_the_wrap() {
        let tripper = Tripper::new(&TripPolicy::consecutive_failures(2), 0);
        assert_eq!(tripper.failure(u32::MAX, at(0, 0, true), || 0), None);
        assert_eq!(tripper.failure(2, at(0, 0, true), || 0), None);
        assert_eq!(
            tripper.failure(u32::MAX, at(0, 0, true), || 0),
            None,
            "late"
        );
        assert_eq!(
            tripper.failure(2, at(0, 0, true), || 0),
            Some(Reason::ConsecutiveFailures(2))
        );
    }

    #[test]
    fn failure_rate_waits_for_min_calls() {
        let policy = TripPolicy::failure_rate(0.5, Window::LastCalls(4)).min_calls(4);
        let tripper = Tripper::new(&policy, 0);
        assert_eq!(tripper.failure(0, at(0, 0, true), || 0), None);
        assert_eq!(tripper.failure(0, at(0, 0, true), || 0), None);
        assert_eq!(tripper.success(0, at(0, 0, false), || 0), None);
        // Two failures in four calls: exactly the threshold.
        assert_eq!(
            tripper.success(0, at(0, 0, false), || 0),
            Some(Reason::FailureRate(0.5))
        );
    }

    #[test]
    fn slow_successes_count_toward_the_slow_rate() {
        let policy =
            TripPolicy::slow_call_rate(Duration::from_nanos(100), 1.0, Window::LastCalls(2));
        let tripper = Tripper::new(&policy, 0);
        assert!(tripper.timed());
        assert_eq!(tripper.success(0, at(0, 100, false), || 0), None);
        assert_eq!(
            tripper.success(0, at(0, 250, false), || 0),
            Some(Reason::SlowCallRate(1.0))
        );
        // Failures alone never trip a slow-call policy.
        let tripper = Tripper::new(&policy, 0);
        assert_eq!(tripper.failure(0, at(0, 1, true), || 0), None);
        assert_eq!(tripper.failure(0, at(0, 1, true), || 0), None);
    }

    #[test]
    fn invalid_policies_name_their_setting() {
        let cases = [
            (TripPolicy::consecutive_failures(0), "consecutive_failures"),
            (
                TripPolicy::failure_rate(0.0, Window::LastCalls(5)),
                "failure_rate",
            ),
            (
                TripPolicy::failure_rate(1.5, Window::LastCalls(5)),
                "failure_rate",
            ),
            (
                TripPolicy::failure_rate(f64::NAN, Window::LastCalls(5)),
                "failure_rate",
            ),
            (
                TripPolicy::failure_rate(0.5, Window::LastCalls(0)),
                "Window::LastCalls",
            ),
            (
                TripPolicy::failure_rate(0.5, Window::LastCalls(u32::MAX)),
                "Window::LastCalls",
            ),
            (
                TripPolicy::failure_rate(0.5, Window::Time(Duration::ZERO)),
                "Window::Time",
            ),
            (
                TripPolicy::failure_rate(0.5, Window::LastCalls(5)).min_calls(6),
                "min_calls",
            ),
            (
                TripPolicy::failure_rate(0.5, Window::LastCalls(5)).min_calls(0),
                "min_calls",
            ),
            (
                TripPolicy::consecutive_failures(2).min_calls(2),
                "min_calls",
            ),
            (
                TripPolicy::consecutive_failures(2).slow_calls(Duration::from_secs(1), 0.5),
                "slow_calls",
            ),
            (
                TripPolicy::slow_call_rate(Duration::ZERO, 0.5, Window::LastCalls(5)),
                "slow call threshold",
            ),
            (
                TripPolicy::slow_call_rate(Duration::from_secs(1), 2.0, Window::LastCalls(5)),
                "slow call rate",
            ),
        ];
        for (policy, setting) in cases {
            assert_eq!(
                policy.validate().unwrap_err().setting(),
                setting,
                "{policy:?}"
            );
        }
    }
}
