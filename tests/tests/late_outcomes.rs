//! Outcomes that arrive late: calls admitted before the circuit opened and closed again, and
//! calls whose outcomes reach a time window after those of calls that ended later.

use std::sync::{Mutex, mpsc};
use std::time::Duration;

use failfast::{Breaker, TripPolicy, Window};
use futures::executor::block_on;
use tests::{SEC, fail, manual};

/// The policies whose counts a late outcome could disturb: each opens on the third failure in a
/// row of a fresh closed period.
fn policies() -> [TripPolicy; 3] {
    [
        TripPolicy::consecutive_failures(3),
        TripPolicy::failure_rate(1.0, Window::LastCalls(3)).min_calls(3),
        TripPolicy::failure_rate(1.0, Window::Time(60 * SEC)).min_calls(3),
    ]
}

/// Opens and closes the circuit, then fails twice in the new closed period.
fn new_period_with_two_failures(breaker: &Breaker) {
    breaker.force_open(SEC);
    breaker.reset();
    let _ = breaker.call(fail);
    let _ = breaker.call(fail);
    assert!(breaker.state().is_closed());
}

/// How a call admitted in the first closed period ends, in the middle of the second.
#[derive(Debug, Clone, Copy)]
enum Late {
    CallSucceeds,
    CallFails,
    RunSucceeds,
    RunFails,
    PermitSucceeds,
    PermitFails,
}

impl Late {
    const ALL: [Late; 6] = [
        Late::CallSucceeds,
        Late::CallFails,
        Late::RunSucceeds,
        Late::RunFails,
        Late::PermitSucceeds,
        Late::PermitFails,
    ];
}

fn end_late(breaker: &Breaker, late: Late) {
    let outcome = |succeed: bool| if succeed { Ok(1) } else { Err("late") };
    match late {
        Late::CallSucceeds | Late::CallFails => {
            let _ = breaker.call(|| {
                new_period_with_two_failures(breaker);
                outcome(matches!(late, Late::CallSucceeds))
            });
        }
        Late::RunSucceeds | Late::RunFails => {
            let _ = block_on(breaker.run(async {
                new_period_with_two_failures(breaker);
                outcome(matches!(late, Late::RunSucceeds))
            }));
        }
        Late::PermitSucceeds | Late::PermitFails => {
            let permit = breaker.try_acquire().unwrap();
            new_period_with_two_failures(breaker);
            match late {
                Late::PermitSucceeds => permit.success(),
                _ => permit.failure(),
            }
        }
    }
}

#[test]
fn an_outcome_from_an_earlier_closed_period_leaves_the_current_counts_alone() {
    for policy in policies() {
        for late in Late::ALL {
            let (builder, _clock) = manual("late_outcome");
            let breaker = builder.trip(policy.clone()).build().unwrap();
            end_late(&breaker, late);
            assert!(breaker.state().is_closed(), "{policy:?}, {late:?}");
            let _ = breaker.call(fail);
            assert!(
                breaker.state().is_open(),
                "the third failure in a row of this period opens it, whatever the late \
                 outcome was: {policy:?}, {late:?}"
            );
        }
    }
}

#[test]
fn a_time_window_counts_an_outcome_recorded_after_a_later_one() {
    // Two threads fail; the first ends its call at 3.5 s but is held up (here by its own
    // failure listener) until the second, which ended at 5.2 s, has been counted.
    let (release, released) = mpsc::channel::<()>();
    let released = Mutex::new(released);
    let (holding, is_holding) = mpsc::channel::<()>();
    let (builder, clock) = manual("out_of_order");
    let breaker = builder
        .trip(TripPolicy::failure_rate(1.0, Window::Time(10 * SEC)).min_calls(2))
        .on_failure(move |_| {
            if std::thread::current().name() == Some("held_up") {
                holding.send(()).unwrap();
                released.lock().unwrap().recv().unwrap();
            }
        })
        .build()
        .unwrap();
    clock.advance(Duration::from_millis(3_500));
    std::thread::scope(|scope| {
        let held_up = std::thread::Builder::new()
            .name("held_up".into())
            .spawn_scoped(scope, || {
                let _ = breaker.call(fail);
            })
            .unwrap();
        is_holding.recv().unwrap();
        clock.advance(Duration::from_millis(1_700));
        let _ = breaker.call(fail);
        assert!(breaker.state().is_closed(), "one failure counted so far");
        release.send(()).unwrap();
        held_up.join().unwrap();
    });
    assert!(
        breaker.state().is_open(),
        "both failures are within the window: two of two calls failed"
    );
}
