//! What the load test saw: one sample per request, summarised per phase and per second with
//! HDR histograms.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// How the app answered a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Counted in Redis.
    Fresh,
    /// The fallback: the last count seen, marked stale.
    Stale,
    /// 503: no count seen yet.
    Unavailable,
    /// Any other status, or no answer.
    Error,
}

/// One request.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// When it completed, since the run started.
    pub at: Duration,
    /// How long it took.
    pub latency: Duration,
    /// How it was answered.
    pub answer: Answer,
}

impl Sample {
    /// When it began, since the run started.
    pub fn began(&self) -> Duration {
        self.at.saturating_sub(self.latency)
    }
}

/// Collects the samples of one run; shared by every simulated user.
#[derive(Debug)]
pub struct Recorder {
    started: Instant,
    samples: Mutex<Vec<Sample>>,
}

impl Recorder {
    /// A recorder whose clock starts now.
    pub fn new() -> Recorder {
        Recorder {
            started: Instant::now(),
            samples: Mutex::new(Vec::with_capacity(1 << 20)),
        }
    }

    /// Time since the run started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Records a request that began at `began` and has just been answered.
    pub fn record(&self, began: Instant, answer: Answer) {
        let now = Instant::now();
        let sample = Sample {
            at: now - self.started,
            latency: now - began,
            answer,
        };
        self.samples
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(sample);
    }

    /// Every sample so far, in the order they were recorded.
    pub fn samples(&self) -> Vec<Sample> {
        self.samples
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder::new()
    }
}

/// The requests that completed within a span of time, summarised.
#[derive(Debug, Clone)]
pub struct Summary {
    /// How many requests completed.
    pub requests: u64,
    /// Requests per second over the span.
    pub throughput: f64,
    /// Median latency.
    pub p50: Duration,
    /// 99th-percentile latency.
    pub p99: Duration,
    /// The slowest request.
    pub max: Duration,
    /// Answers by kind: fresh, stale, unavailable, error.
    pub answers: [u64; 4],
}

impl Summary {
    /// Summarises the samples that completed in `from..to`.
    pub fn of(samples: &[Sample], from: Duration, to: Duration) -> Summary {
        // 1 µs to 10 min at 3 significant digits.
        let mut histogram =
            Histogram::<u64>::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds");
        let mut answers = [0; 4];
        for sample in samples.iter().filter(|s| s.at >= from && s.at < to) {
            let micros = u64::try_from(sample.latency.as_micros()).unwrap_or(u64::MAX);
            histogram.saturating_record(micros.max(1));
            answers[sample.answer as usize] += 1;
        }
        let micros = |v: u64| Duration::from_micros(v);
        let span = (to - from).as_secs_f64();
        Summary {
            requests: histogram.len(),
            throughput: if span > 0.0 {
                histogram.len() as f64 / span
            } else {
                0.0
            },
            p50: micros(histogram.value_at_quantile(0.5)),
            p99: micros(histogram.value_at_quantile(0.99)),
            max: micros(histogram.max()),
            answers,
        }
    }

    /// One summary per whole second from 0 to `to`; a last, partial second is left out, as its
    /// throughput would read low.
    pub fn per_second(samples: &[Sample], to: Duration) -> Vec<Summary> {
        (0..to.as_secs())
            .map(|s| Summary::of(samples, Duration::from_secs(s), Duration::from_secs(s + 1)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(at_ms: u64, latency_us: u64, answer: Answer) -> Sample {
        Sample {
            at: Duration::from_millis(at_ms),
            latency: Duration::from_micros(latency_us),
            answer,
        }
    }

    #[test]
    fn a_summary_counts_only_its_span_and_reads_percentiles_from_the_histogram() {
        let mut samples: Vec<Sample> = (0..100).map(|i| sample(i, 100, Answer::Fresh)).collect();
        samples.push(sample(50, 100_000, Answer::Stale));
        samples.push(sample(1000, 7, Answer::Error));
        let summary = Summary::of(&samples, Duration::ZERO, Duration::from_millis(500));
        assert_eq!(summary.requests, 101);
        assert_eq!(summary.answers, [100, 1, 0, 0]);
        assert!((summary.throughput - 202.0).abs() < 1e-9);
        assert_eq!(summary.p50, Duration::from_micros(100));
        assert_eq!(summary.p99, Duration::from_micros(100));
        let max = summary.max.as_micros();
        assert!((99_950..=100_050).contains(&max), "{max}");
        let seconds = Summary::per_second(&samples, Duration::from_secs(2));
        assert_eq!((seconds[0].requests, seconds[1].requests), (101, 1));
    }
}
