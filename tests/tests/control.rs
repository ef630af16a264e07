//! Forcing, resetting, disabling.

use std::process::Command;
use std::time::Duration;

use failfast::{Breaker, DISABLED_ENV, Phase};
use tests::{SEC, fail, manual, ok, refuses};

#[test]
fn force_open_refuses_calls_then_probes_as_usual() {
    let (builder, clock) = manual("forced");
    let breaker = builder.open_for(SEC).build().unwrap();
    breaker.force_open(30 * SEC);
    assert!(refuses(&breaker));
    clock.advance(29 * SEC);
    assert!(refuses(&breaker));
    clock.advance(SEC);
    assert_eq!(breaker.state().phase(), Phase::HalfOpen);
    breaker.call(ok).unwrap();
    assert!(breaker.state().is_closed());
}

#[test]
fn reset_closes_and_forgets_failures_and_backoff() {
    let (builder, clock) = manual("reset");
    let breaker = builder
        .trip(failfast::TripPolicy::consecutive_failures(2))
        .backoff(failfast::Backoff::exponential(SEC, 60 * SEC))
        .build()
        .unwrap();
    let _ = breaker.call(fail);
    breaker.reset();
    let _ = breaker.call(fail);
    assert!(
        breaker.state().is_closed(),
        "the failure before the reset is forgotten"
    );
    let _ = breaker.call(fail);
    clock.advance(SEC);
    let _ = breaker.call(fail); // the probe fails: the next period is 2 s
    breaker.reset();
    let _ = breaker.call(fail);
    let _ = breaker.call(fail);
    assert_eq!(
        breaker.state(),
        failfast::State::Open { retry_in: SEC },
        "the backoff starts over"
    );
}

#[test]
fn a_disabled_breaker_calls_straight_through_and_records_nothing() {
    let breaker = Breaker::builder("disabled").enabled(false).build().unwrap();
    assert!(!breaker.is_enabled());
    for _ in 0..3 {
        assert_eq!(breaker.call(fail).unwrap_err().into_inner(), Some("boom"));
    }
    assert!(breaker.state().is_closed());
    assert_eq!(breaker.stats(), failfast::Stats::default());
}

#[test]
fn enabling_and_disabling_at_run_time() {
    let breaker = Breaker::new("switch", Duration::from_secs(60));
    let _ = breaker.call(fail);
    assert!(refuses(&breaker));
    breaker.set_enabled(false);
    assert_eq!(
        breaker.call(ok).unwrap(),
        1,
        "disabled: the open circuit is bypassed"
    );
    breaker.set_enabled(true);
    assert!(
        refuses(&breaker),
        "enabled again: the circuit kept its state"
    );
}

/// Run by `the_environment_variable_disables_breakers` in a child process with the variable
/// set; changing the environment of this multi-threaded test process would be unsound.
#[test]
#[ignore = "run by the_environment_variable_disables_breakers"]
fn child_built_with_failfast_disabled() {
    assert_eq!(std::env::var(DISABLED_ENV).as_deref(), Ok("1"));
    let breaker = Breaker::new("from_env", Duration::from_secs(60));
    assert!(!breaker.is_enabled());
    let _ = breaker.call(fail);
    assert_eq!(breaker.call(ok).unwrap(), 1);
}

#[test]
fn the_environment_variable_disables_breakers() {
    let status = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "child_built_with_failfast_disabled"])
        .env(DISABLED_ENV, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&status.stdout);
    assert!(status.status.success(), "{stdout}");
    assert!(stdout.contains("1 passed"), "the child test ran: {stdout}");
}
