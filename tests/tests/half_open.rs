//! The half-open phase: probe permits, successes to close, reclaiming hung probes.

use failfast::{Breaker, ManualClock, Phase};
use tests::{SEC, fail, manual, ok, refuses};

fn half_open(name: &'static str, probes: u32, successes: u32) -> (Breaker, ManualClock) {
    let (builder, clock) = manual(name);
    let breaker = builder
        .open_for(SEC)
        .probes(probes)
        .successes_to_close(successes)
        .probe_timeout(10 * SEC)
        .build()
        .unwrap();
    let _ = breaker.call(fail);
    clock.advance(SEC);
    assert_eq!(breaker.state().phase(), Phase::HalfOpen);
    (breaker, clock)
}

#[test]
fn admits_exactly_the_configured_number_of_probes() {
    let (breaker, _clock) = half_open("three_probes", 3, 3);
    let permits: Vec<_> = (0..3).map(|_| breaker.try_acquire().unwrap()).collect();
    assert!(refuses(&breaker));
    assert_eq!(breaker.stats().rejected, 1);
    drop(permits);
}

#[test]
fn needs_the_configured_number_of_successes_to_close() {
    let (breaker, _clock) = half_open("three_successes", 1, 3);
    breaker.call(ok).unwrap();
    breaker.call(ok).unwrap();
    assert_eq!(breaker.state().phase(), Phase::HalfOpen);
    breaker.call(ok).unwrap();
    assert_eq!(breaker.state().phase(), Phase::Closed);
}

#[test]
fn one_failed_probe_reopens_whatever_succeeded_before() {
    let (breaker, _clock) = half_open("fails_late", 1, 3);
    breaker.call(ok).unwrap();
    breaker.call(ok).unwrap();
    let _ = breaker.call(fail);
    assert_eq!(breaker.state().phase(), Phase::Open);
}

#[test]
fn a_permit_dropped_unspent_is_given_back_and_counts_nothing() {
    let (breaker, _clock) = half_open("dropped", 1, 1);
    let before = breaker.stats();
    let permit = breaker.try_acquire().unwrap();
    drop(permit);
    assert_eq!(breaker.stats(), before);
    assert_eq!(breaker.state().phase(), Phase::HalfOpen);
    breaker.call(ok).unwrap();
    assert_eq!(breaker.state().phase(), Phase::Closed);
}

#[test]
fn an_ignored_error_gives_the_probe_permit_back() {
    let (breaker, _clock) = half_open("ignored_probe", 1, 1);
    let result = breaker.call_if(|_| false, fail);
    assert_eq!(result.unwrap_err().into_inner(), Some("boom"));
    assert_eq!(breaker.state().phase(), Phase::HalfOpen);
    assert!(breaker.try_acquire().is_ok());
}

#[test]
fn a_hung_probe_loses_its_permit_after_the_probe_timeout() {
    let (breaker, clock) = half_open("hung", 1, 1);
    let hung = breaker.try_acquire().unwrap();
    clock.advance(9 * SEC);
    let refused = breaker.try_acquire().unwrap_err();
    assert_eq!(
        refused.retry_in(),
        SEC,
        "retry when the hung permit expires"
    );

    clock.advance(SEC);
    let fresh = breaker
        .try_acquire()
        .expect("the hung permit was reclaimed");
    hung.failure();
    assert_eq!(
        breaker.state().phase(),
        Phase::HalfOpen,
        "the late probe's outcome is ignored"
    );
    fresh.success();
    assert_eq!(breaker.state().phase(), Phase::Closed);
}

#[test]
fn outcomes_of_calls_admitted_before_a_transition_do_not_count_after_it() {
    let (builder, _clock) = manual("stale");
    let breaker = builder
        .trip(failfast::TripPolicy::consecutive_failures(2))
        .build()
        .unwrap();
    let before = breaker.try_acquire().unwrap();
    breaker.force_open(SEC);
    breaker.reset();
    before.failure();
    let _ = breaker.call(fail);
    assert!(
        breaker.state().is_closed(),
        "one failure of this period, one of the last"
    );
}
