//! The sliding windows a rate policy counts outcomes in: the last N calls, or a span of time.

use std::time::Duration;

use crate::clock::nanos;

/// The calls a rate policy looks at.
///
/// ```
/// use std::time::Duration;
/// use failfast::{TripPolicy, Window};
/// let by_count = TripPolicy::failure_rate(0.5, Window::LastCalls(50));
/// let by_time = TripPolicy::failure_rate(0.5, Window::Time(Duration::from_secs(30)));
/// assert_ne!(by_count, by_time);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// The last this-many calls: at least 1, at most [`Window::MAX_CALLS`]. The window keeps
    /// one byte per call.
    LastCalls(u32),
    /// The calls of the last this-long. The window slides in steps of a tenth of its length.
    ///
    /// Calls are placed in time by when they ended. A call that ends on one thread just before
    /// a call on another may be counted just after it; it is still placed in its own tenth of the
    /// window. One that arrives after its tenth has left the window is not counted. If the clock
    /// goes back by more than the window's length, the window starts again.
    Time(Duration),
}

impl Window {
    /// The longest window of [`Window::LastCalls`]: for a longer memory, use [`Window::Time`],
    /// whose size does not grow with the number of calls.
    ///
    /// ```
    /// use failfast::{Breaker, TripPolicy, Window};
    /// let too_long = TripPolicy::failure_rate(0.5, Window::LastCalls(Window::MAX_CALLS + 1));
    /// let err = Breaker::builder("api").trip(too_long).build().unwrap_err();
    /// assert_eq!(err.setting(), "Window::LastCalls");
    /// ```
    pub const MAX_CALLS: u32 = 100_000;
}

/// The number of steps a time window slides in.
pub(crate) const TIME_BUCKETS: u64 = 10;

/// Outcomes counted in a window. Wide enough that no window can overflow them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) calls: u64,
    pub(crate) failures: u64,
    pub(crate) slow: u64,
}

impl Counts {
    fn add(&mut self, failure: bool, slow: bool) {
        self.calls += 1;
        self.failures += u64::from(failure);
        self.slow += u64::from(slow);
    }

    fn remove(&mut self, failure: bool, slow: bool) {
        self.calls -= 1;
        self.failures -= u64::from(failure);
        self.slow -= u64::from(slow);
    }

    fn merge(&mut self, other: Counts) {
        self.calls += other.calls;
        self.failures += other.failures;
        self.slow += other.slow;
    }
}

/// A window's running counts.
#[derive(Debug)]
pub(crate) enum RateWindow {
    Calls(CallWindow),
    Time(TimeWindow),
}

impl RateWindow {
    pub(crate) fn new(window: Window) -> Self {
        match window {
            Window::LastCalls(size) => RateWindow::Calls(CallWindow::new(size)),
            Window::Time(span) => RateWindow::Time(TimeWindow::new(span)),
        }
    }

    /// Adds one outcome of a call that ended at `ended`, and returns the counts of the window
    /// as it now stands. `now` reads the clock; a time window asks it only when an outcome
    /// arrives too late to place, to tell a late arrival from a clock that went back.
    pub(crate) fn record(
        &mut self,
        ended: u64,
        failure: bool,
        slow: bool,
        now: impl FnOnce() -> u64,
    ) -> Counts {
        match self {
            RateWindow::Calls(window) => window.record(failure, slow),
            RateWindow::Time(window) => window.record(ended, failure, slow, now),
        }
    }

    /// Forgets every outcome.
    pub(crate) fn clear(&mut self) {
        match self {
            RateWindow::Calls(window) => *window = CallWindow::new(window.outcomes.len() as u32),
            RateWindow::Time(window) => window.clear(),
        }
    }
}

const FAILURE: u8 = 0b01;
const SLOW: u8 = 0b10;

/// The outcomes of the last N calls, in a ring.
#[derive(Debug)]
pub(crate) struct CallWindow {
    outcomes: Vec<u8>,
    next: usize,
    filled: usize,
    counts: Counts,
}

impl CallWindow {
    fn new(size: u32) -> Self {
        CallWindow {
            outcomes: vec![0; size as usize],
            next: 0,
            filled: 0,
            counts: Counts::default(),
        }
    }

    fn record(&mut self, failure: bool, slow: bool) -> Counts {
        if self.filled == self.outcomes.len() {
            let old = self.outcomes[self.next];
            self.counts.remove(old & FAILURE != 0, old & SLOW != 0);
        } else {
            self.filled += 1;
        }
        self.outcomes[self.next] = (u8::from(failure) * FAILURE) | (u8::from(slow) * SLOW);
        self.counts.add(failure, slow);
        self.next = (self.next + 1) % self.outcomes.len();
        self.counts
    }
}

/// The outcomes of a span of time, in ten buckets of a tenth of the span each.
#[derive(Debug)]
pub(crate) struct TimeWindow {
    bucket_nanos: u64,
    /// Each bucket's index (its start time divided by `bucket_nanos`) and counts.
    buckets: Vec<(u64, Counts)>,
    /// The index of the latest bucket an outcome was placed in: the window ends with it.
    latest: u64,
}

impl TimeWindow {
    fn new(span: Duration) -> Self {
        TimeWindow {
            bucket_nanos: (nanos(span) / TIME_BUCKETS).max(1),
            buckets: vec![(0, Counts::default()); TIME_BUCKETS as usize],
            latest: 0,
        }
    }

    fn clear(&mut self) {
        self.buckets.fill((0, Counts::default()));
        self.latest = 0;
    }

    fn record(
        &mut self,
        ended: u64,
        failure: bool,
        slow: bool,
        now: impl FnOnce() -> u64,
    ) -> Counts {
        let index = ended / self.bucket_nanos;
        if index + TIME_BUCKETS <= self.latest {
            // Older than the window. Either the outcome arrived late (its thread was held up
            // between the end of the call and here), and it has left the window already; or the
            // clock went back, and what was counted can no longer be placed in time.
            if now() / self.bucket_nanos >= self.latest {
                return self.total();
            }
            self.clear();
        }
        self.latest = self.latest.max(index);
        // Within the window, a bucket's slot holds that bucket or one that has left the window.
        let slot = &mut self.buckets[(index % TIME_BUCKETS) as usize];
        if slot.0 != index {
            *slot = (index, Counts::default());
        }
        slot.1.add(failure, slow);
        self.total()
    }

    fn total(&self) -> Counts {
        let oldest = self.latest.saturating_sub(TIME_BUCKETS - 1);
        let mut total = Counts::default();
        for &(bucket, counts) in &self.buckets {
            if (oldest..=self.latest).contains(&bucket) {
                total.merge(counts);
            }
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The window as a list of every outcome it holds, for comparison.
    #[derive(Default)]
    struct Model {
        outcomes: Vec<(u64, bool, bool)>,
        /// The latest bucket an outcome was placed in, for time windows.
        latest: Option<u64>,
    }

    impl Model {
        /// Records an outcome that ended at `ended`, arriving when the clock reads `now`.
        fn record(
            &mut self,
            window: Window,
            ended: u64,
            now: u64,
            failure: bool,
            slow: bool,
        ) -> Counts {
            let counted: Vec<_> = match window {
                Window::LastCalls(size) => {
                    self.outcomes.push((ended, failure, slow));
                    let skip = self.outcomes.len().saturating_sub(size as usize);
                    self.outcomes[skip..].to_vec()
                }
                Window::Time(span) => {
                    let bucket = (nanos(span) / TIME_BUCKETS).max(1);
                    let in_window = |latest: u64, t: u64| t / bucket + TIME_BUCKETS > latest;
                    match self.latest {
                        // Placed in its own bucket, if that bucket is still in the window.
                        Some(latest) if in_window(latest, ended) => {
                            self.outcomes.push((ended, failure, slow));
                            self.latest = Some(latest.max(ended / bucket));
                        }
                        // Too old: a late arrival, or the clock went back and all starts again.
                        Some(latest) if now / bucket >= latest => {}
                        _ => {
                            self.outcomes = vec![(ended, failure, slow)];
                            self.latest = Some(ended / bucket);
                        }
                    }
                    let latest = self.latest.unwrap_or(0);
                    self.outcomes
                        .iter()
                        .filter(|(t, _, _)| in_window(latest, *t))
                        .copied()
                        .collect()
                }
            };
            let mut counts = Counts::default();
            for (_, failure, slow) in counted {
                counts.add(failure, slow);
            }
            counts
        }
    }

    fn windows() -> impl Strategy<Value = Window> {
        prop_oneof![
            (1u32..12).prop_map(Window::LastCalls),
            (1u64..200).prop_map(|n| Window::Time(Duration::from_nanos(n))),
        ]
    }

    proptest! {
        #[test]
        fn window_counts_match_the_model(
            window in windows(),
            steps in prop::collection::vec(
                (0u64..60, any::<bool>(), any::<bool>(), 0u8..20, prop_oneof![6 => Just(0u64), 2 => 0u64..30, 1 => 0u64..600]),
                1..200,
            ),
        ) {
            let mut real = RateWindow::new(window);
            let mut model = Model::default();
            let mut now = 0u64;
            for (advance, failure, slow, jump, lag) in steps {
                // Mostly forwards; now and then a jump backwards, which a window must survive.
                now = if jump == 0 { now.saturating_sub(advance * 3) } else { now + advance };
                // Most outcomes arrive as they end; some arrive late, after others that ended later.
                let ended = now.saturating_sub(lag);
                prop_assert_eq!(
                    real.record(ended, failure, slow, || now),
                    model.record(window, ended, now, failure, slow)
                );
            }
        }
    }

    #[test]
    fn call_window_forgets_the_oldest_outcome() {
        let mut window = RateWindow::new(Window::LastCalls(3));
        window.record(0, true, false, || 0);
        window.record(0, false, true, || 0);
        window.record(0, false, false, || 0);
        let counts = window.record(0, false, false, || 0);
        assert_eq!(
            counts,
            Counts {
                calls: 3,
                failures: 0,
                slow: 1
            }
        );
    }

    #[test]
    fn time_window_edges() {
        // A 100 ns window in ten 10 ns buckets: an outcome counts until its bucket is ten old.
        let mut window = RateWindow::new(Window::Time(Duration::from_nanos(100)));
        window.record(5, true, false, || 5);
        assert_eq!(window.record(99, false, false, || 99).failures, 1);
        assert_eq!(window.record(100, false, false, || 100).failures, 0);
    }

    #[test]
    fn time_window_counts_outcomes_that_arrive_out_of_order() {
        // Threads read the clock when their calls end, then take turns recording: a call that
        // ended earlier can be recorded after one that ended later.
        let mut window = RateWindow::new(Window::Time(Duration::from_nanos(100)));
        window.record(35, true, false, || 35);
        window.record(52, true, false, || 52);
        let counts = window.record(28, true, false, || 53);
        assert_eq!(
            counts.failures, 3,
            "the late outcome is placed in its own bucket"
        );
        assert_eq!(window.record(60, false, false, || 60).calls, 4);
    }

    #[test]
    fn time_window_drops_an_outcome_that_arrives_after_its_bucket_left() {
        let mut window = RateWindow::new(Window::Time(Duration::from_nanos(100)));
        window.record(150, true, false, || 150);
        let counts = window.record(20, false, false, || 151);
        let too_late = "too late: not counted, and nothing forgotten";
        assert_eq!((counts.calls, counts.failures), (1, 1), "{too_late}");
        assert_eq!(window.record(151, false, false, || 151).calls, 2);
    }

    #[test]
    fn time_window_starts_again_when_the_clock_goes_back_further_than_its_span() {
        let mut window = RateWindow::new(Window::Time(Duration::from_nanos(100)));
        window.record(500, true, false, || 500);
        let counts = window.record(200, false, false, || 200);
        assert_eq!((counts.calls, counts.failures), (1, 0));
    }

    #[test]
    fn time_window_counts_past_u32_without_overflowing() {
        let mut window = TimeWindow::new(Duration::from_secs(10));
        window.buckets[0] = (
            0,
            Counts {
                calls: u64::from(u32::MAX),
                failures: 0,
                slow: 0,
            },
        );
        window.buckets[1] = (
            1,
            Counts {
                calls: u64::from(u32::MAX),
                failures: 0,
                slow: 0,
            },
        );
        let counts = window.record(1_000_000_000, true, false, || 1_000_000_000);
        assert_eq!(counts.calls, 2 * u64::from(u32::MAX) + 1);
    }

    #[test]
    fn clear_forgets_everything() {
        for spec in [Window::LastCalls(4), Window::Time(Duration::from_secs(1))] {
            let mut window = RateWindow::new(spec);
            window.record(0, true, true, || 0);
            window.clear();
            assert_eq!(
                window.record(0, false, false, || 0),
                Counts {
                    calls: 1,
                    failures: 0,
                    slow: 0
                }
            );
        }
    }
}
