//! How long to wait before each retry: [`Wait`] and its [`Jitter`].

use std::time::Duration;

use crate::backoff::Backoff;
use crate::clock::nanos;
use crate::error::ConfigError;

/// How long to wait before each retry: fixed, or growing exponentially between a minimum and
/// a maximum, with an optional [`Jitter`].
///
/// ```
/// use std::time::Duration;
/// use failfast::retry::Wait;
///
/// const SEC: Duration = Duration::from_secs(1);
/// // Tenacity's wait_exponential(multiplier=1, min=2, max=10): 2, 2, 4, 8, 10, 10 s.
/// let wait = Wait::exponential(2 * SEC, 10 * SEC).multiplier(SEC);
/// let waits: Vec<_> = (1..=6).map(|retry| wait.nominal(retry)).collect();
/// assert_eq!(waits, [2 * SEC, 2 * SEC, 4 * SEC, 8 * SEC, 10 * SEC, 10 * SEC]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Wait {
    /// `multiplier`, times `factor` for each retry after the first, at most `max`.
    growth: Backoff,
    min: Duration,
    max: Duration,
    jitter: Jitter,
}

/// Randomness added to each wait, so that many clients that failed together do not all retry
/// at the same moment. `w` is the wait before jitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Jitter {
    /// Exactly `w`.
    #[default]
    None,
    /// Anywhere in `[0, w)`: the most spread out.
    Full,
    /// Anywhere in `[w/2, w)`: never much shorter than `w`.
    Equal,
    /// Anywhere in `[w₁, 3 × the previous wait)`, at most `max`, where `w₁` is the first
    /// retry's wait: spread out, and growing with the previous wait rather than with the
    /// retry's number.
    Decorrelated,
}

impl Wait {
    /// The same wait before every retry.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::retry::Wait;
    /// let wait = Wait::fixed(Duration::from_secs(2));
    /// assert_eq!(wait.nominal(1), wait.nominal(7));
    /// ```
    pub fn fixed(wait: Duration) -> Self {
        Wait {
            growth: Backoff::constant(wait),
            min: wait,
            max: wait,
            jitter: Jitter::None,
        }
    }

    /// `min` before the first retry, then twice as long before each next one, at most `max`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::retry::Wait;
    /// let wait = Wait::exponential(Duration::from_millis(100), Duration::from_secs(1));
    /// assert_eq!(wait.nominal(1), Duration::from_millis(100));
    /// assert_eq!(wait.nominal(3), Duration::from_millis(400));
    /// assert_eq!(wait.nominal(9), Duration::from_secs(1));
    /// ```
    pub fn exponential(min: Duration, max: Duration) -> Self {
        Wait {
            growth: Backoff::exponential(min, max),
            min,
            max,
            jitter: Jitter::None,
        }
    }

    /// The wait before the first retry, before it is held within `[min, max]`; each next
    /// retry multiplies it by the factor. Tenacity's `multiplier`. By default, `min`.
    pub fn multiplier(mut self, multiplier: Duration) -> Self {
        let factor = self.growth.factor_value();
        self.growth = Backoff::exponential(multiplier, self.max).factor(factor);
        self
    }

    /// Grows each wait by `factor` instead of 2 (at least 1).
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::retry::Wait;
    /// let wait = Wait::exponential(Duration::from_secs(1), Duration::from_secs(60)).factor(3.0);
    /// assert_eq!(wait.nominal(3), Duration::from_secs(9));
    /// ```
    pub fn factor(mut self, factor: f64) -> Self {
        self.growth = self.growth.factor(factor);
        self
    }

    /// Adds `jitter` to each wait.
    pub fn jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// The wait before retry number `retry` (1 for the first), before jitter.
    pub fn nominal(&self, retry: u32) -> Duration {
        // Not `clamp`, which panics on a `min` above `max` (refused later, by `validate`).
        self.growth.nominal(retry).max(self.min).min(self.max)
    }

    /// The wait before retry number `retry`, with jitter drawn from `random` in `[0, 1)`;
    /// `previous` is the wait before the retry before it (`min` for the first).
    pub(crate) fn next(
        &self,
        retry: u32,
        previous: Duration,
        mut random: impl FnMut() -> f64,
    ) -> Duration {
        let nominal = self.nominal(retry);
        let mut within = |low: Duration, high: Duration| {
            // In whole nanoseconds, where a float that rounds up saturates instead of panicking.
            let span = nanos(high.saturating_sub(low)) as f64 * random();
            low.saturating_add(Duration::from_nanos(span as u64))
        };
        match self.jitter {
            Jitter::None => nominal,
            Jitter::Full => within(Duration::ZERO, nominal),
            Jitter::Equal => within(nominal / 2, nominal),
            Jitter::Decorrelated => {
                // From the first retry's wait, which the multiplier sets, not from `min` alone:
                // a zero `min` would make every wait zero.
                let base = self.nominal(1);
                within(base, previous.max(base).saturating_mul(3)).min(self.max)
            }
        }
    }

    /// The longest wait.
    pub(crate) fn max(&self) -> Duration {
        self.max
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let factor = self.growth.factor_value();
        if !(factor.is_finite() && factor >= 1.0) {
            return Err(ConfigError::new(
                "wait factor",
                "a finite number of at least 1.0",
                factor,
            ));
        }
        if self.max < self.min {
            return Err(ConfigError::new(
                "wait max",
                "at least the minimum wait",
                self.max,
            ));
        }
        Ok(())
    }
}

impl Default for Wait {
    /// 100 ms before the first retry, doubling, at most 10 s; no jitter.
    fn default() -> Self {
        Wait::exponential(Duration::from_millis(100), Duration::from_secs(10))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    #[test]
    fn exponential_starts_at_min_and_stops_at_max() {
        let wait = Wait::exponential(2 * SEC, 10 * SEC);
        let waits: Vec<_> = (1..=5).map(|n| wait.nominal(n)).collect();
        assert_eq!(waits, [2 * SEC, 4 * SEC, 8 * SEC, 10 * SEC, 10 * SEC]);
        assert_eq!(wait.nominal(u32::MAX), 10 * SEC);
    }

    #[test]
    fn a_multiplier_below_min_is_held_at_min() {
        let wait = Wait::exponential(3 * SEC, 60 * SEC)
            .multiplier(SEC)
            .factor(3.0);
        let waits: Vec<_> = (1..=4).map(|n| wait.nominal(n)).collect();
        assert_eq!(waits, [3 * SEC, 3 * SEC, 9 * SEC, 27 * SEC]);
    }

    #[test]
    fn jitter_stays_within_its_range() {
        let wait = Wait::fixed(10 * SEC);
        for (jitter, low, high) in [
            (Jitter::Full, Duration::ZERO, 10 * SEC),
            (Jitter::Equal, 5 * SEC, 10 * SEC),
        ] {
            let wait = wait.clone().jitter(jitter);
            assert_eq!(wait.next(1, SEC, || 0.0), low);
            assert!(wait.next(1, SEC, || 0.999_999) < high);
            assert!(wait.next(1, SEC, || 0.999_999) > high - SEC / 100);
        }
    }

    #[test]
    fn decorrelated_jitter_grows_from_the_previous_wait_up_to_max() {
        let wait = Wait::exponential(SEC, 20 * SEC).jitter(Jitter::Decorrelated);
        assert_eq!(wait.next(1, SEC, || 0.0), SEC);
        assert_eq!(wait.next(2, 2 * SEC, || 0.5), Duration::from_millis(3500));
        assert_eq!(wait.next(9, 15 * SEC, || 0.999), 20 * SEC);
    }

    #[test]
    fn bad_settings_are_refused_by_name() {
        let error = Wait::exponential(2 * SEC, SEC).validate().unwrap_err();
        assert_eq!(error.setting(), "wait max");
        let error = Wait::exponential(SEC, 2 * SEC).factor(f64::NAN).validate();
        assert_eq!(error.unwrap_err().setting(), "wait factor");
    }
}
