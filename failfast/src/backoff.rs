//! How long a circuit stays open: [`Backoff`].

use std::time::Duration;

use crate::clock::nanos;
use crate::error::ConfigError;

/// How long each open period lasts.
///
/// The count of consecutive open periods starts at one when the circuit opens from closed, grows
/// each time a failed probe reopens it, and is forgotten when it closes again.
///
/// ```
/// use std::time::Duration;
/// use failfast::{Backoff, Breaker};
///
/// let breaker = Breaker::builder("search")
///     // 1s, 2s, 4s, ... at most 60s, each shortened by up to 20% at random.
///     .backoff(Backoff::exponential(Duration::from_secs(1), Duration::from_secs(60)).jitter(0.2))
///     .build()
///     .unwrap();
/// # let _ = breaker;
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Backoff {
    initial: Duration,
    factor: f64,
    max: Duration,
    jitter: f64,
}

impl Backoff {
    /// Every open period lasts `duration`. A zero duration lets the next call through as a probe.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::Backoff;
    /// let backoff = Backoff::constant(Duration::from_secs(30));
    /// assert_eq!(backoff.nominal(1), Duration::from_secs(30));
    /// assert_eq!(backoff.nominal(9), Duration::from_secs(30));
    /// ```
    pub fn constant(duration: Duration) -> Self {
        Backoff {
            initial: duration,
            factor: 1.0,
            max: duration,
            jitter: 0.0,
        }
    }

    /// The first open period lasts `initial`; each reopening doubles it, up to `max`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::Backoff;
    /// let backoff = Backoff::exponential(Duration::from_secs(1), Duration::from_secs(5));
    /// assert_eq!(backoff.nominal(3), Duration::from_secs(4));
    /// assert_eq!(backoff.nominal(4), Duration::from_secs(5));
    /// ```
    pub fn exponential(initial: Duration, max: Duration) -> Self {
        Backoff {
            initial,
            factor: 2.0,
            max,
            jitter: 0.0,
        }
    }

    /// Grows each open period by `factor` instead of 2 (at least 1).
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::Backoff;
    /// let backoff = Backoff::exponential(Duration::from_secs(1), Duration::from_secs(60)).factor(1.5);
    /// assert_eq!(backoff.nominal(3), Duration::from_millis(2250));
    /// ```
    pub fn factor(mut self, factor: f64) -> Self {
        self.factor = factor;
        self
    }

    /// Shortens each open period by a random fraction of up to `fraction` (in `[0, 1)`), so that
    /// many processes that opened together do not all probe at the same moment.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::{Backoff, Breaker};
    /// // Each open period lasts between 8 and 10 seconds.
    /// let breaker = Breaker::builder("feeds")
    ///     .backoff(Backoff::constant(Duration::from_secs(10)).jitter(0.2))
    ///     .build()?;
    /// # let _ = breaker;
    /// # Ok::<(), failfast::ConfigError>(())
    /// ```
    pub fn jitter(mut self, fraction: f64) -> Self {
        self.jitter = fraction;
        self
    }

    /// The growth factor, as set.
    pub(crate) fn factor_value(&self) -> f64 {
        self.factor
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if !(self.factor.is_finite() && self.factor >= 1.0) {
            return Err(ConfigError::new(
                "backoff factor",
                "a finite number of at least 1.0",
                self.factor,
            ));
        }
        if self.max < self.initial {
            return Err(ConfigError::new(
                "backoff max",
                "at least the initial duration",
                self.max,
            ));
        }
        if !(0.0..1.0).contains(&self.jitter) {
            return Err(ConfigError::new("jitter", "in [0.0, 1.0)", self.jitter));
        }
        Ok(())
    }

    /// The first open period, before any jitter.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::Backoff;
    /// let backoff = Backoff::exponential(Duration::from_secs(2), Duration::from_secs(60));
    /// assert_eq!(backoff.initial(), Duration::from_secs(2));
    /// ```
    pub fn initial(&self) -> Duration {
        self.initial
    }

    /// The length of open period number `opens` (1 for the first), before jitter.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::Backoff;
    /// let backoff = Backoff::exponential(Duration::from_secs(1), Duration::from_secs(60));
    /// assert_eq!(backoff.nominal(1), Duration::from_secs(1));
    /// assert_eq!(backoff.nominal(2), Duration::from_secs(2));
    /// ```
    pub fn nominal(&self, opens: u32) -> Duration {
        let exponent = opens.saturating_sub(1).min(i32::MAX as u32) as i32;
        let grown = self.initial.as_secs_f64() * self.factor.powi(exponent);
        if grown.is_finite() && grown < self.max.as_secs_f64() {
            Duration::from_secs_f64(grown).max(self.initial)
        } else {
            self.max
        }
    }

    /// The length of open period number `opens`, with jitter drawn from `random` in `[0, 1)`.
    pub(crate) fn duration(&self, opens: u32, random: impl FnOnce() -> f64) -> Duration {
        let nominal = self.nominal(opens);
        if self.jitter == 0.0 {
            nominal
        } else {
            // In whole nanoseconds, where a float that rounds up saturates instead of panicking.
            let shortened = nanos(nominal) as f64 * (1.0 - self.jitter * random());
            Duration::from_nanos(shortened as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    #[test]
    fn constant_never_grows() {
        let backoff = Backoff::constant(3 * SEC);
        assert_eq!(backoff.nominal(1), 3 * SEC);
        assert_eq!(backoff.nominal(1000), 3 * SEC);
    }

    #[test]
    fn exponential_doubles_up_to_its_cap() {
        let backoff = Backoff::exponential(SEC, 10 * SEC);
        let periods: Vec<_> = (1..=6).map(|n| backoff.nominal(n)).collect();
        assert_eq!(
            periods,
            [SEC, 2 * SEC, 4 * SEC, 8 * SEC, 10 * SEC, 10 * SEC]
        );
        assert_eq!(backoff.nominal(u32::MAX), 10 * SEC);
    }

    #[test]
    fn custom_factor() {
        let backoff = Backoff::exponential(SEC, 100 * SEC).factor(3.0);
        assert_eq!(backoff.nominal(3), 9 * SEC);
    }

    #[test]
    fn jitter_only_shortens_within_its_fraction() {
        let backoff = Backoff::constant(10 * SEC).jitter(0.25);
        assert_eq!(backoff.duration(1, || 0.0), 10 * SEC);
        assert_eq!(backoff.duration(1, || 0.5), Duration::from_millis(8750));
        assert!(backoff.duration(1, || 0.999_999) > Duration::from_millis(7500));
    }

    #[test]
    fn jitter_on_the_longest_period_never_overflows() {
        let backoff = Backoff::constant(Duration::MAX).jitter(0.5);
        assert!(backoff.duration(1, || 0.0) >= Duration::from_nanos(i64::MAX as u64 - 1024));
        assert!(backoff.duration(1, || 0.999_999) > Duration::ZERO);
    }

    #[test]
    fn invalid_settings_are_named() {
        let err = Backoff::exponential(SEC, SEC).factor(0.5).validate();
        assert_eq!(err.unwrap_err().setting(), "backoff factor");
        let err = Backoff::exponential(2 * SEC, SEC).validate();
        assert_eq!(err.unwrap_err().setting(), "backoff max");
        let err = Backoff::constant(SEC).jitter(1.0).validate();
        assert_eq!(err.unwrap_err().setting(), "jitter");
        let err = Backoff::constant(SEC).factor(f64::NAN).validate();
        assert_eq!(err.unwrap_err().setting(), "backoff factor");
    }
}
