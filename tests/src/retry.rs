//! Breakers and retry policies for the retry tests: breakers that trip after a given number of
//! failures, on a manual clock or on tokio's, and policies whose waits advance the manual clock.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use failfast::retry::{Retry, RetryBuilder};
use failfast::{Breaker, ManualClock, TokioClock, TripPolicy};

/// A breaker on a manual clock that trips after `failures` failures in a row, open for
/// `open_for`; and the clock.
pub fn breaker(name: &'static str, failures: u32, open_for: Duration) -> (Breaker, ManualClock) {
    let (builder, clock) = crate::manual(name);
    let breaker = builder
        .trip(TripPolicy::consecutive_failures(failures))
        .open_for(open_for)
        .build()
        .unwrap();
    (breaker, clock)
}

/// A breaker on tokio's clock, tripping after `failures` failures in a row.
pub fn tokio_breaker(name: &'static str, failures: u32, open_for: Duration) -> Breaker {
    Breaker::builder(name)
        .trip(TripPolicy::consecutive_failures(failures))
        .open_for(open_for)
        .clock(TokioClock::new())
        .build()
        .unwrap()
}

/// The waits a policy made, in order.
pub type Waits = Arc<Mutex<Vec<Duration>>>;

/// A policy whose waits advance `clock`, and the waits it made.
pub fn sleeping_on(clock: &ManualClock, builder: RetryBuilder) -> (Retry, Waits) {
    let waits = Waits::default();
    let retry = builder
        .sleep_with({
            let (clock, waits) = (clock.clone(), waits.clone());
            move |wait| {
                waits.lock().unwrap().push(wait);
                clock.advance(wait);
            }
        })
        .build()
        .unwrap();
    (retry, waits)
}

/// The waits made so far.
pub fn waits(waits: &Waits) -> Vec<Duration> {
    waits.lock().unwrap().clone()
}
