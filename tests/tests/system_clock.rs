//! The system clock's background threads: the timer ends open periods whatever listeners do.
//!
//! These tests run on real time, as the timer thread serves only the system clock. They never
//! sleep to wait: they wait for an event, or poll a condition up to a deadline that only a
//! broken timer reaches.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use failfast::{Breaker, Phase};

const DEADLINE: Duration = Duration::from_secs(10);

/// Polls `ready` until it holds, or the deadline passes; returns whether it held.
fn eventually(mut ready: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < DEADLINE {
        if ready() {
            return true;
        }
        std::thread::yield_now();
    }
    false
}

#[test]
fn a_listener_that_blocks_keeps_no_other_circuit_open_past_its_period() {
    // `stuck`'s listener blocks on its transition to half-open until the test lets it go.
    let (entered, is_blocked) = mpsc::channel();
    let (release, released) = mpsc::channel::<()>();
    let released = Mutex::new(released);
    let stuck = Breaker::builder("stuck_listener")
        .on_transition(move |t| {
            if t.to == Phase::HalfOpen {
                entered.send(()).unwrap();
                let _ = released.lock().unwrap().recv();
            }
        })
        .build()
        .unwrap();
    stuck.force_open(Duration::from_millis(1));
    is_blocked
        .recv_timeout(DEADLINE)
        .expect("the listener hears the end of the open period");

    let other = Breaker::new("other_circuit", Duration::from_millis(1));
    other.force_open(Duration::from_millis(20));
    assert!(other.try_acquire().is_err(), "open for 20 ms");
    assert!(
        eventually(|| other.try_acquire().is_ok()),
        "the other circuit's period ended while the listener was blocked"
    );
    release.send(()).unwrap();
}

#[test]
fn listeners_still_hear_the_end_of_an_open_period() {
    let (tx, rx) = mpsc::channel();
    let tx = Arc::new(Mutex::new(tx));
    let breaker = Breaker::builder("heard_on_the_events_thread")
        .on_transition(move |t| {
            let thread = std::thread::current().name().map(str::to_owned);
            tx.lock().unwrap().send((t.from, t.to, thread)).unwrap();
        })
        .build()
        .unwrap();
    breaker.force_open(Duration::from_millis(5));
    assert_eq!(rx.recv_timeout(DEADLINE).unwrap().1, Phase::Open);
    let (from, to, thread) = rx.recv_timeout(DEADLINE).unwrap();
    assert_eq!((from, to), (Phase::Open, Phase::HalfOpen));
    assert_eq!(
        thread.as_deref(),
        Some("failfast-events"),
        "not the timer's thread"
    );
}
