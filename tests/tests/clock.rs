//! Clocks that jump, and clocks that cannot ring alarms.

use std::time::Duration;

use failfast::{Breaker, Clock, Phase, TripPolicy, Window};
use tests::{PlainClock, SEC, fail, manual, ok, refuses};

#[test]
fn a_clock_jumping_forward_ends_the_open_period() {
    let (builder, clock) = manual("jump_forward");
    let breaker = builder.open_for(60 * SEC).build().unwrap();
    let _ = breaker.call(fail);
    clock.set(Duration::from_secs(86_400));
    assert_eq!(breaker.state().phase(), Phase::HalfOpen);
}

#[test]
fn a_clock_jumping_backward_is_survived() {
    let (builder, clock) = manual("jump_back");
    let policy = TripPolicy::failure_rate(0.5, Window::Time(10 * SEC)).min_calls(2);
    let breaker = builder.trip(policy).open_for(10 * SEC).build().unwrap();
    clock.set(100 * SEC);
    let _ = breaker.call(fail);
    clock.set(50 * SEC);
    let _ = breaker.call(ok);
    assert!(
        breaker.state().is_closed(),
        "the window restarted when time went back"
    );
    let _ = breaker.call(fail);
    assert!(breaker.state().is_open());

    clock.set(Duration::ZERO);
    let open = breaker.try_acquire().unwrap_err();
    assert!(
        open.retry_in() >= 10 * SEC,
        "still open, and no arithmetic overflowed"
    );
    clock.set(60 * SEC);
    assert_eq!(breaker.state().phase(), Phase::HalfOpen);
}

#[test]
fn a_clock_without_alarms_is_read_on_refused_calls() {
    let clock = PlainClock::default();
    let breaker = Breaker::builder("plain_clock")
        .clock(clock.clone())
        .open_for(5 * SEC)
        .build()
        .unwrap();
    let _ = breaker.call(fail);
    clock.set_secs(4);
    assert!(refuses(&breaker));
    assert_eq!(breaker.try_acquire().unwrap_err().retry_in(), SEC);
    clock.set_secs(5);
    assert_eq!(
        breaker.call(ok).unwrap(),
        1,
        "the open period ended without an alarm"
    );
    assert!(breaker.state().is_closed());
}

/// The longest period a breaker keeps: `i64::MAX` nanoseconds, about 292 years.
const LONGEST: Duration = Duration::from_nanos(i64::MAX as u64);

#[test]
fn open_periods_beyond_the_longest_saturate_and_every_reading_agrees() {
    const YEAR: Duration = Duration::from_secs(365 * 86_400);
    for period in [317 * YEAR, Duration::MAX] {
        let (builder, _clock) = manual("centuries");
        let breaker = builder.build().unwrap();
        breaker.force_open(period);
        let failfast::State::Open { retry_in } = breaker.state() else {
            panic!("open for {period:?}");
        };
        assert_eq!(retry_in, LONGEST, "{period:?}");
        assert_eq!(breaker.try_acquire().unwrap_err().retry_in(), LONGEST);

        let breaker = Breaker::new("centuries_system_clock", SEC);
        breaker.force_open(period);
        let failfast::State::Open { retry_in: state } = breaker.state() else {
            panic!("open for {period:?}");
        };
        let open = breaker.try_acquire().unwrap_err().retry_in();
        assert!(
            LONGEST - state < SEC && LONGEST - open < SEC,
            "{state:?}, {open:?}"
        );
    }
}

#[test]
fn a_manual_clock_saturates_instead_of_wrapping() {
    let clock = failfast::ManualClock::new();
    clock.advance(SEC);
    clock.advance(Duration::MAX);
    assert!(clock.now() > LONGEST, "{:?}", clock.now());
    clock.advance(Duration::MAX);
    let latest = clock.now();
    clock.advance(SEC);
    assert_eq!(
        clock.now(),
        latest,
        "at its greatest reading, it stays there"
    );
}

#[test]
fn a_listener_that_panics_while_the_clock_rings_loses_no_other_alarm() {
    let (builder, clock) = manual("rings_first");
    let panicky = builder
        .open_for(SEC)
        .on_transition(|t| {
            if t.to == Phase::HalfOpen {
                panic!("bug in a listener");
            }
        })
        .build()
        .unwrap();
    let other = Breaker::builder("rings_second")
        .clock(clock.clone())
        .open_for(SEC)
        .build()
        .unwrap();
    panicky.force_open(SEC);
    other.force_open(SEC);
    let advanced = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| clock.advance(SEC)));
    assert!(
        advanced.is_err(),
        "the listener's panic unwinds from advance"
    );
    assert_eq!(
        other.call(ok).unwrap(),
        1,
        "the other circuit's alarm rang too"
    );
    assert!(other.state().is_closed());
}

/// A clock that takes alarms and never rings them.
#[derive(Debug, Default, Clone)]
struct ForgetfulClock(PlainClock);

impl Clock for ForgetfulClock {
    fn now(&self) -> Duration {
        self.0.now()
    }

    fn set_alarm(&self, _at: Duration, _alarm: failfast::Alarm) -> bool {
        true
    }
}

#[test]
fn an_alarm_that_never_rings_keeps_no_circuit_open_past_its_period() {
    let clock = ForgetfulClock::default();
    let breaker = Breaker::builder("forgotten_alarm")
        .clock(clock.clone())
        .open_for(5 * SEC)
        .build()
        .unwrap();
    let _ = breaker.call(fail);
    assert!(refuses(&breaker));
    clock.0.set_secs(5);
    assert_eq!(
        breaker.call(ok).unwrap(),
        1,
        "the period ended: a probe went through"
    );
    assert!(breaker.state().is_closed());
}

#[test]
fn a_manual_clock_at_its_greatest_reading_still_opens_and_ends_periods() {
    let (builder, clock) = manual("end_of_time");
    let breaker = builder.open_for(SEC).build().unwrap();
    clock.advance(Duration::MAX);
    clock.advance(Duration::MAX);
    breaker.force_open(SEC);
    assert_eq!(
        breaker.state().phase(),
        Phase::HalfOpen,
        "no period can end after the last reading: it ended at once"
    );
    assert_eq!(breaker.call(ok).unwrap(), 1);
}
