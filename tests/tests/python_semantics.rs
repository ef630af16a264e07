//! `Breaker::new(name, open_for)`: the Python decorator's semantics, with a half-open probe.

use std::time::Duration;

use failfast::{Breaker, Error, ManualClock, Phase, State};
use tests::{SEC, fail, manual, ok, refuses};

#[test]
fn the_first_failure_opens_the_circuit_for_open_for() {
    let (builder, clock) = manual("sales_api");
    let breaker = builder.open_for(60 * SEC).build().unwrap();

    assert_eq!(breaker.call(ok).unwrap(), 1);
    assert!(matches!(breaker.call(fail), Err(Error::Inner("boom"))));
    assert_eq!(breaker.state(), State::Open { retry_in: 60 * SEC });

    clock.advance(59 * SEC);
    assert!(refuses(&breaker));
    let open = breaker.call(ok).unwrap_err();
    assert_eq!(open.as_open().unwrap().retry_in(), SEC);

    clock.advance(SEC);
    assert_eq!(breaker.state(), State::HalfOpen);
}

#[test]
fn a_successful_probe_closes_the_circuit() {
    let (builder, clock) = manual("closes");
    let breaker = builder.open_for(10 * SEC).build().unwrap();
    let _ = breaker.call(fail);
    clock.advance(10 * SEC);

    assert_eq!(breaker.call(ok).unwrap(), 1);
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(breaker.call(ok).unwrap(), 1);
}

#[test]
fn a_failed_probe_opens_the_circuit_again() {
    let (builder, clock) = manual("reopens");
    let breaker = builder.open_for(10 * SEC).build().unwrap();
    let _ = breaker.call(fail);
    clock.advance(10 * SEC);

    assert!(matches!(breaker.call(fail), Err(Error::Inner(_))));
    assert_eq!(breaker.state(), State::Open { retry_in: 10 * SEC });
    assert!(refuses(&breaker));
}

#[test]
fn only_one_probe_at_a_time() {
    let (builder, clock) = manual("one_probe");
    let breaker = builder.open_for(SEC).build().unwrap();
    let _ = breaker.call(fail);
    clock.advance(SEC);

    let probe = breaker.try_acquire().unwrap();
    assert!(refuses(&breaker), "the probe's permit is taken");
    probe.success();
    assert!(breaker.state().is_closed());
}

#[test]
fn errors_outside_the_predicate_pass_through_and_count_as_nothing() {
    #[derive(Debug, PartialEq)]
    enum ApiError {
        Timeout,
        NotFound,
    }
    let is_timeout = |e: &ApiError| *e == ApiError::Timeout;
    let breaker = Breaker::new("only_timeouts", 60 * SEC);

    let result = breaker.call_if(is_timeout, || Err::<(), _>(ApiError::NotFound));
    assert_eq!(result.unwrap_err().into_inner(), Some(ApiError::NotFound));
    assert!(breaker.state().is_closed());
    let stats = breaker.stats();
    assert_eq!((stats.calls, stats.ignored, stats.failures), (1, 1, 0));

    let _ = breaker.call_if(is_timeout, || Err::<(), _>(ApiError::Timeout));
    assert!(breaker.state().is_open());
}

#[test]
fn success_changes_nothing_in_a_closed_circuit() {
    let breaker = Breaker::new("steady", 60 * SEC);
    for _ in 0..100 {
        breaker.call(ok).unwrap();
    }
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(breaker.stats().transitions, 0);
}

#[test]
fn open_names_the_circuit_and_converts_into_the_callers_error() {
    let clock = ManualClock::new();
    let breaker = Breaker::builder("inventory")
        .clock(clock.clone())
        .open_for(30 * SEC)
        .build()
        .unwrap();
    breaker.force_open(30 * SEC);
    clock.advance(Duration::from_millis(29_500));

    let open = breaker.try_acquire().unwrap_err();
    assert_eq!(open.name(), "inventory");
    assert_eq!(open.retry_in(), Duration::from_millis(500));
    assert_eq!(
        open.to_string(),
        "circuit `inventory` is open; retry in 500ms"
    );

    let boxed: Box<dyn std::error::Error + Send + Sync> = open.clone().into();
    assert!(boxed.to_string().contains("inventory"));
    let err: Error<std::io::Error> = open.into();
    assert!(err.is_open());
    assert!(err.into_inner().is_none());
}

#[test]
fn inner_errors_display_as_themselves() {
    let breaker = Breaker::new("display", 60 * SEC);
    let err = breaker.call(|| Err::<(), _>("disk full")).unwrap_err();
    assert_eq!(err.to_string(), "disk full");
    assert_eq!(err.map_inner(str::len).into_inner(), Some(9));
}

#[test]
fn zero_open_for_makes_the_next_call_a_probe() {
    let breaker = Breaker::new("eager", Duration::ZERO);
    let _ = breaker.call(fail);
    assert_eq!(breaker.state().phase(), Phase::HalfOpen);
    assert_eq!(breaker.call(ok).unwrap(), 1);
    assert!(breaker.state().is_closed());
}

/// A breaker on the system clock that reports each phase it enters, for the two tests that
/// need real time: the alarm thread must end open periods with nobody calling.
fn watched(name: &'static str, open_for: Duration) -> (Breaker, std::sync::mpsc::Receiver<Phase>) {
    let (sender, receiver) = std::sync::mpsc::channel();
    let breaker = Breaker::builder(name)
        .open_for(open_for)
        .on_transition(move |t| {
            let _ = sender.send(t.to);
        })
        .build()
        .unwrap();
    (breaker, receiver)
}

/// The next phase `watched` reports: waited for, bounded, never slept for blindly.
fn next_phase(phases: &std::sync::mpsc::Receiver<Phase>) -> Phase {
    phases.recv_timeout(Duration::from_secs(10)).unwrap()
}

#[test]
fn system_clock_ends_the_open_period_by_itself() {
    let (breaker, phases) = watched("real_time", Duration::from_millis(20));
    let _ = breaker.call(fail);
    assert_eq!(next_phase(&phases), Phase::Open);
    assert_eq!(next_phase(&phases), Phase::HalfOpen);
    assert_eq!(breaker.state(), State::HalfOpen);
    assert_eq!(breaker.call(ok).unwrap(), 1);
}

#[test]
fn a_listener_panicking_on_the_timer_thread_does_not_stop_the_timer() {
    // The first breaker's listener panics when its open period ends; the second breaker's open
    // period must still end.
    let panicky = Breaker::builder("timer_panicky")
        .open_for(Duration::from_millis(5))
        .on_transition(|t| {
            if t.to == Phase::HalfOpen {
                panic!("listener bug on the timer thread");
            }
        })
        .build()
        .unwrap();
    let (healthy, phases) = watched("timer_healthy", Duration::from_millis(30));
    let _ = panicky.call(fail);
    let _ = healthy.call(fail);
    assert_eq!(next_phase(&phases), Phase::Open);
    assert_eq!(next_phase(&phases), Phase::HalfOpen);
    assert_eq!(panicky.state(), State::HalfOpen);
}
