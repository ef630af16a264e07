//! Every trip policy through a breaker, and a property test of the whole state machine against
//! a small reference model.

use std::time::Duration;

use failfast::{Backoff, Breaker, Phase, Reason, TripPolicy, Window};
use proptest::prelude::*;
use tests::{SEC, fail, manual, ok, refuses};

#[test]
fn consecutive_failures_open_after_the_nth_in_a_row() {
    let (builder, _clock) = manual("consecutive");
    let breaker = builder
        .trip(TripPolicy::consecutive_failures(3))
        .build()
        .unwrap();
    let _ = breaker.call(fail);
    let _ = breaker.call(fail);
    let _ = breaker.call(ok);
    let _ = breaker.call(fail);
    let _ = breaker.call(fail);
    assert!(
        breaker.state().is_closed(),
        "the success started the count again"
    );
    let _ = breaker.call(fail);
    assert!(breaker.state().is_open());
}

#[test]
fn failure_rate_over_calls_waits_for_min_calls_then_trips_at_the_rate() {
    let (builder, _clock) = manual("rate_calls");
    let policy = TripPolicy::failure_rate(0.5, Window::LastCalls(4)).min_calls(4);
    let breaker = builder.trip(policy).build().unwrap();
    for _ in 0..3 {
        let _ = breaker.call(fail);
    }
    assert!(
        breaker.state().is_closed(),
        "three calls are fewer than min_calls"
    );
    let _ = breaker.call(ok);
    assert!(
        breaker.state().is_open(),
        "3 failures in 4 calls is over half"
    );
}

#[test]
fn failure_rate_over_calls_forgets_calls_that_left_the_window() {
    let (builder, _clock) = manual("rate_slides");
    let policy = TripPolicy::failure_rate(0.5, Window::LastCalls(4)).min_calls(4);
    let breaker = builder.trip(policy).build().unwrap();
    // f s s s: 25%. Then s pushes the failure out, and f f bring it to 2 of 4: 50%.
    for call in [fail, ok, ok, ok, ok, fail] {
        let _ = breaker.call(call);
        assert!(breaker.state().is_closed());
    }
    let _ = breaker.call(fail);
    assert!(breaker.state().is_open());
}

#[test]
fn failure_rate_over_time_counts_only_the_window() {
    let (builder, clock) = manual("rate_time");
    let policy = TripPolicy::failure_rate(0.5, Window::Time(10 * SEC)).min_calls(2);
    let breaker = builder.trip(policy).build().unwrap();

    let _ = breaker.call(fail);
    // The failure's one-second bucket leaves the window ten seconds after it began.
    clock.advance(10 * SEC);
    let _ = breaker.call(ok);
    let _ = breaker.call(ok);
    assert!(
        breaker.state().is_closed(),
        "the old failure is out of the window"
    );
    let _ = breaker.call(fail);
    assert!(breaker.state().is_closed(), "1 failure in 3 calls");
    let _ = breaker.call(fail);
    assert!(breaker.state().is_open(), "2 failures in 4 calls");
}

#[test]
fn time_window_edge_is_exact() {
    // Two failures `apart`, with a rate of 1.0 over a 10 s window of 1 s buckets.
    let opens_after_two_failures = |name, apart| {
        let (builder, clock) = manual(name);
        let policy = TripPolicy::failure_rate(1.0, Window::Time(10 * SEC)).min_calls(2);
        let breaker = builder.trip(policy).build().unwrap();
        let _ = breaker.call(fail);
        clock.advance(apart);
        let _ = breaker.call(fail);
        breaker.state().is_open()
    };
    assert!(
        opens_after_two_failures("rate_edge", Duration::from_millis(9_999)),
        "both failures are in the window"
    );
    assert!(
        !opens_after_two_failures("rate_edge_out", 10 * SEC),
        "the first failure has left the window"
    );
}

#[test]
fn slow_successes_trip_a_slow_call_policy_and_are_still_successes() {
    let (builder, clock) = manual("slow");
    let policy = TripPolicy::slow_call_rate(2 * SEC, 0.5, Window::LastCalls(2)).min_calls(2);
    let (tx, rx) = std::sync::mpsc::channel();
    let breaker = builder
        .trip(policy)
        .on_transition(move |t| tx.send(t.reason).unwrap())
        .build()
        .unwrap();
    let slow_ok = || {
        clock.advance(3 * SEC);
        ok()
    };
    assert_eq!(breaker.call(ok).unwrap(), 1);
    assert_eq!(breaker.call(slow_ok).unwrap(), 1);
    assert!(breaker.state().is_open());
    assert_eq!(rx.try_recv().unwrap(), Reason::SlowCallRate(0.5));
    let stats = breaker.stats();
    assert_eq!((stats.successes, stats.slow, stats.failures), (2, 1, 0));
}

#[test]
fn failure_rate_with_slow_calls_trips_on_either() {
    let (builder, clock) = manual("rate_and_slow");
    let policy = TripPolicy::failure_rate(0.9, Window::LastCalls(3))
        .min_calls(3)
        .slow_calls(SEC, 0.6);
    let breaker = builder.trip(policy).build().unwrap();
    let slow_fail = || {
        clock.advance(SEC);
        fail()
    };
    let _ = breaker.call(slow_fail);
    let _ = breaker.call(ok);
    assert!(breaker.state().is_closed());
    let _ = breaker.call(slow_fail);
    assert!(
        breaker.state().is_open(),
        "2 of 3 slow reaches 0.6, though 2 of 3 failed is under 0.9"
    );
}

#[test]
fn exponential_backoff_grows_while_probes_fail_and_resets_on_close() {
    let (builder, clock) = manual("backoff");
    let breaker = builder
        .backoff(Backoff::exponential(SEC, 4 * SEC))
        .build()
        .unwrap();
    let _ = breaker.call(fail);
    for expected in [SEC, 2 * SEC, 4 * SEC, 4 * SEC] {
        let failfast::State::Open { retry_in } = breaker.state() else {
            panic!("expected open, got {:?}", breaker.state());
        };
        assert_eq!(retry_in, expected);
        clock.advance(expected);
        let _ = breaker.call(fail);
    }
    clock.advance(4 * SEC);
    breaker.call(ok).unwrap();
    let _ = breaker.call(fail);
    assert_eq!(breaker.state(), failfast::State::Open { retry_in: SEC });
}

#[test]
fn jitter_shortens_open_periods_within_bounds() {
    for _ in 0..50 {
        let (builder, _clock) = manual("jitter");
        let breaker = builder
            .backoff(Backoff::constant(10 * SEC).jitter(0.5))
            .build()
            .unwrap();
        let _ = breaker.call(fail);
        let failfast::State::Open { retry_in } = breaker.state() else {
            panic!("expected open");
        };
        assert!(retry_in > 5 * SEC && retry_in <= 10 * SEC, "{retry_in:?}");
    }
}

#[test]
fn bad_settings_are_config_errors_that_name_the_setting() {
    let cases: Vec<(failfast::Builder, &str)> = vec![
        (
            Breaker::builder("x").trip(TripPolicy::consecutive_failures(0)),
            "consecutive_failures",
        ),
        (
            Breaker::builder("x").trip(TripPolicy::failure_rate(0.0, Window::LastCalls(3))),
            "failure_rate",
        ),
        (
            Breaker::builder("x").trip(TripPolicy::failure_rate(0.5, Window::LastCalls(0))),
            "Window::LastCalls",
        ),
        (
            Breaker::builder("x").trip(TripPolicy::failure_rate(0.5, Window::Time(Duration::ZERO))),
            "Window::Time",
        ),
        (Breaker::builder("x").probes(0), "probes"),
        (
            Breaker::builder("x").successes_to_close(0),
            "successes_to_close",
        ),
        (
            Breaker::builder("x").probe_timeout(Duration::ZERO),
            "probe_timeout",
        ),
        (
            Breaker::builder("x").backoff(Backoff::constant(SEC).jitter(-0.1)),
            "jitter",
        ),
    ];
    for (builder, setting) in cases {
        let err = builder.build().unwrap_err();
        assert_eq!(err.setting(), setting);
        assert!(err.to_string().contains(setting), "{err}");
        assert!(err.to_string().contains(err.allowed()), "{err}");
    }
}

/// One step of a property test.
#[derive(Debug, Clone)]
enum Step {
    /// A call; a slow one takes `SLOW_CALL` seconds.
    Call {
        failure: bool,
        slow: bool,
    },
    Wait(u64),
}

/// How long a slow call takes, and the threshold it is over.
const SLOW_CALL: u64 = 3;
const SLOW_THRESHOLD: u64 = 2;

/// The policy a model breaker runs.
#[derive(Debug, Clone, Copy)]
enum ModelPolicy {
    Consecutive(u32),
    Rate {
        failure_rate: Option<f64>,
        slow_rate: Option<f64>,
        window: ModelWindow,
        min_calls: usize,
    },
}

#[derive(Debug, Clone, Copy)]
enum ModelWindow {
    Calls(usize),
    /// A whole number of tens of seconds: ten buckets of whole seconds.
    Secs(u64),
}

impl ModelPolicy {
    fn trip_policy(self) -> TripPolicy {
        match self {
            ModelPolicy::Consecutive(n) => TripPolicy::consecutive_failures(n),
            ModelPolicy::Rate {
                failure_rate,
                slow_rate,
                window,
                min_calls,
            } => {
                let window = match window {
                    ModelWindow::Calls(size) => Window::LastCalls(size as u32),
                    ModelWindow::Secs(secs) => Window::Time(Duration::from_secs(secs)),
                };
                let threshold = Duration::from_secs(SLOW_THRESHOLD);
                let policy = match (failure_rate, slow_rate) {
                    (Some(rate), Some(slow)) => {
                        TripPolicy::failure_rate(rate, window).slow_calls(threshold, slow)
                    }
                    (Some(rate), None) => TripPolicy::failure_rate(rate, window),
                    (None, Some(slow)) => TripPolicy::slow_call_rate(threshold, slow, window),
                    (None, None) => unreachable!("a rate policy watches one rate or both"),
                };
                policy.min_calls(min_calls as u32)
            }
        }
    }
}

/// A call's outcome as the model remembers it.
#[derive(Debug, Clone, Copy)]
struct Outcome {
    ended: u64,
    failure: bool,
    slow: bool,
}

/// The breaker as a few lines of obviously right code, on whole seconds.
struct Model {
    policy: ModelPolicy,
    initial: u64,
    max: u64,
    successes_to_close: u32,
    now: u64,
    phase: ModelPhase,
    opens: u32,
    slow_calls: u64,
}

enum ModelPhase {
    Closed(Vec<Outcome>),
    Open(u64),
    HalfOpen(u32),
}

impl Model {
    /// Makes a call; returns whether it was refused.
    fn call(&mut self, failure: bool, slow: bool) -> bool {
        if let ModelPhase::Open(until) = self.phase {
            if self.now < until {
                return true;
            }
            self.phase = ModelPhase::HalfOpen(0);
        }
        if slow {
            self.now += SLOW_CALL;
            self.slow_calls += 1;
        }
        let now = self.now;
        match &mut self.phase {
            ModelPhase::Closed(history) => {
                history.push(Outcome {
                    ended: now,
                    failure,
                    slow,
                });
                if Self::trips(self.policy, history, now) {
                    self.open();
                }
            }
            ModelPhase::HalfOpen(successes) if !failure => {
                *successes += 1;
                if *successes >= self.successes_to_close {
                    self.phase = ModelPhase::Closed(Vec::new());
                    self.opens = 0;
                }
            }
            ModelPhase::HalfOpen(_) => self.open(),
            ModelPhase::Open(_) => unreachable!(),
        }
        false
    }

    fn trips(policy: ModelPolicy, history: &[Outcome], now: u64) -> bool {
        match policy {
            ModelPolicy::Consecutive(n) => {
                let n = n as usize;
                history.len() >= n && history[history.len() - n..].iter().all(|o| o.failure)
            }
            ModelPolicy::Rate {
                failure_rate,
                slow_rate,
                window,
                min_calls,
            } => {
                let counted: Vec<&Outcome> = match window {
                    ModelWindow::Calls(size) => history[history.len().saturating_sub(size)..]
                        .iter()
                        .collect(),
                    ModelWindow::Secs(secs) => {
                        let bucket = secs / 10;
                        history
                            .iter()
                            .filter(|o| o.ended / bucket + 10 > now / bucket)
                            .collect()
                    }
                };
                let calls = counted.len() as f64;
                let share = |pick: fn(&Outcome) -> bool| {
                    counted.iter().filter(|o| pick(o)).count() as f64 / calls
                };
                counted.len() >= min_calls
                    && (failure_rate.is_some_and(|rate| share(|o| o.failure) >= rate)
                        || slow_rate.is_some_and(|rate| share(|o| o.slow) >= rate))
            }
        }
    }

    fn open(&mut self) {
        self.opens += 1;
        let period = (self.initial << (self.opens - 1).min(20)).min(self.max);
        self.phase = ModelPhase::Open(self.now + period);
    }

    fn phase(&self) -> Phase {
        match self.phase {
            ModelPhase::Closed(_) => Phase::Closed,
            ModelPhase::Open(until) if self.now < until => Phase::Open,
            _ => Phase::HalfOpen,
        }
    }
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    let step = prop_oneof![
        6 => (any::<bool>(), prop::bool::weighted(0.25))
            .prop_map(|(failure, slow)| Step::Call { failure, slow }),
        2 => (0u64..6).prop_map(Step::Wait),
    ];
    prop::collection::vec(step, 1..150)
}

fn rate() -> impl Strategy<Value = f64> {
    (1u32..=4).prop_map(|quarters| f64::from(quarters) / 4.0)
}

fn policies() -> impl Strategy<Value = ModelPolicy> {
    let window = prop_oneof![
        (1usize..8).prop_map(ModelWindow::Calls),
        (1u64..4).prop_map(|tens| ModelWindow::Secs(tens * 10)),
    ];
    let rates = prop_oneof![
        rate().prop_map(|r| (Some(r), None)),
        rate().prop_map(|r| (None, Some(r))),
        (rate(), rate()).prop_map(|(f, s)| (Some(f), Some(s))),
    ];
    prop_oneof![
        (1u32..5).prop_map(ModelPolicy::Consecutive),
        (rates, window, 1usize..8).prop_map(|((failure_rate, slow_rate), window, min)| {
            let min_calls = match window {
                ModelWindow::Calls(size) => min.min(size),
                ModelWindow::Secs(_) => min,
            };
            ModelPolicy::Rate {
                failure_rate,
                slow_rate,
                window,
                min_calls,
            }
        }),
    ]
}

proptest! {
    #[test]
    fn breaker_matches_the_model(
        policy in policies(),
        initial in 1u64..4,
        growth in 0u64..3,
        successes_to_close in 1u32..4,
        steps in steps(),
    ) {
        let max = initial << growth;
        let (builder, clock) = manual("model");
        let breaker = builder
            .trip(policy.trip_policy())
            .backoff(Backoff::exponential(Duration::from_secs(initial), Duration::from_secs(max)))
            .successes_to_close(successes_to_close)
            .build()
            .unwrap();
        let mut model = Model {
            policy,
            initial,
            max,
            successes_to_close,
            now: 0,
            phase: ModelPhase::Closed(Vec::new()),
            opens: 0,
            slow_calls: 0,
        };
        for step in steps {
            match step {
                Step::Wait(secs) => {
                    clock.advance(Duration::from_secs(secs));
                    model.now += secs;
                }
                Step::Call { failure, slow } => {
                    let refused = breaker
                        .call(|| {
                            if slow {
                                clock.advance(Duration::from_secs(SLOW_CALL));
                            }
                            if failure { fail() } else { ok() }
                        })
                        .is_err_and(|e| e.is_open());
                    prop_assert_eq!(refused, model.call(failure, slow), "after {:?}", step);
                }
            }
            prop_assert_eq!(breaker.state().phase(), model.phase());
        }
        if let ModelPolicy::Rate { slow_rate: Some(_), .. } = policy {
            prop_assert_eq!(breaker.stats().slow, model.slow_calls);
        }
        prop_assert!(refuses(&breaker) == (model.phase() == Phase::Open));
    }
}
