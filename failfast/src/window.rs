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
    /// The last this-many calls.
    LastCalls(u32),
    /// The calls of the last this-long. The window slides in steps of a tenth of its length.
    Time(Duration),
}

/// The number of steps a time window slides in.
pub(crate) const TIME_BUCKETS: u64 = 10;

/// Outcomes counted in a window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) calls: u32,
    pub(crate) failures: u32,
    pub(crate) slow: u32,
}

impl Counts {
    fn add(&mut self, failure: bool, slow: bool) {
        self.calls += 1;
        self.failures += u32::from(failure);
        self.slow += u32::from(slow);
    }

    fn remove(&mut self, failure: bool, slow: bool) {
        self.calls -= 1;
        self.failures -= u32::from(failure);
        self.slow -= u32::from(slow);
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

    /// Adds one outcome at time `now` and returns the counts of the window as it now stands.
    pub(crate) fn record(&mut self, now: u64, failure: bool, slow: bool) -> Counts {
        match self {
            RateWindow::Calls(window) => window.record(failure, slow),
            RateWindow::Time(window) => window.record(now, failure, slow),
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

    fn record(&mut self, now: u64, failure: bool, slow: bool) -> Counts {
        let index = now / self.bucket_nanos;
        if index < self.latest {
            // The clock went backwards: what was counted can no longer be placed in time.
            self.clear();
        }
        self.latest = index;
        let slot = &mut self.buckets[(index % TIME_BUCKETS) as usize];
        if slot.0 != index {
            *slot = (index, Counts::default());
        }
        slot.1.add(failure, slow);
        let oldest = index.saturating_sub(TIME_BUCKETS - 1);
        let mut total = Counts::default();
        for &(bucket, counts) in &self.buckets {
            if (oldest..=index).contains(&bucket) {
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

    /// The window as a list of every outcome, for comparison.
    #[derive(Default)]
    struct Model {
        outcomes: Vec<(u64, bool, bool)>,
    }

    impl Model {
        fn record(&mut self, window: Window, now: u64, failure: bool, slow: bool) -> Counts {
            if let Some(&(last, _, _)) = self.outcomes.last() {
                if let Window::Time(span) = window {
                    let bucket = (nanos(span) / TIME_BUCKETS).max(1);
                    if now / bucket < last / bucket {
                        self.outcomes.clear();
                    }
                }
            }
            self.outcomes.push((now, failure, slow));
            let counted: Vec<_> = match window {
                Window::LastCalls(size) => {
                    let skip = self.outcomes.len().saturating_sub(size as usize);
                    self.outcomes[skip..].to_vec()
                }
                Window::Time(span) => {
                    let bucket = (nanos(span) / TIME_BUCKETS).max(1);
                    let current = now / bucket;
                    self.outcomes
                        .iter()
                        .filter(|(t, _, _)| t / bucket + TIME_BUCKETS > current)
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
            steps in prop::collection::vec((0u64..60, any::<bool>(), any::<bool>(), 0u8..20), 1..200),
        ) {
            let mut real = RateWindow::new(window);
            let mut model = Model::default();
            let mut now = 0u64;
            for (advance, failure, slow, jump) in steps {
                // Mostly forwards; now and then a jump backwards, which a window must survive.
                now = if jump == 0 { now.saturating_sub(advance * 3) } else { now + advance };
                prop_assert_eq!(real.record(now, failure, slow), model.record(window, now, failure, slow));
            }
        }
    }

    #[test]
    fn call_window_forgets_the_oldest_outcome() {
        let mut window = RateWindow::new(Window::LastCalls(3));
        window.record(0, true, false);
        window.record(0, false, true);
        window.record(0, false, false);
        let counts = window.record(0, false, false);
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
        window.record(5, true, false);
        assert_eq!(window.record(99, false, false).failures, 1);
        assert_eq!(window.record(100, false, false).failures, 0);
    }

    #[test]
    fn clear_forgets_everything() {
        for spec in [Window::LastCalls(4), Window::Time(Duration::from_secs(1))] {
            let mut window = RateWindow::new(spec);
            window.record(0, true, true);
            window.clear();
            assert_eq!(
                window.record(0, false, false),
                Counts {
                    calls: 1,
                    failures: 0,
                    slow: 0
                }
            );
        }
    }
}
