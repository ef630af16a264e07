//! Helpers shared by the integration tests.

use std::time::Duration;

use failfast::{Breaker, Builder, ManualClock};

/// One second.
pub const SEC: Duration = Duration::from_secs(1);

/// A builder for `name` on a fresh manual clock, and the clock.
pub fn manual(name: &'static str) -> (Builder, ManualClock) {
    let clock = ManualClock::new();
    (Breaker::builder(name).clock(clock.clone()), clock)
}

/// A call that succeeds.
pub fn ok() -> Result<u32, &'static str> {
    Ok(1)
}

/// A call that fails.
pub fn fail() -> Result<u32, &'static str> {
    Err("boom")
}

/// Whether `breaker` refuses a call without running it.
pub fn refuses(breaker: &Breaker) -> bool {
    let mut ran = false;
    let refused = breaker
        .call(|| {
            ran = true;
            ok()
        })
        .is_err_and(|e| e.is_open());
    assert!(refused != ran, "a call either runs or is refused");
    refused
}
