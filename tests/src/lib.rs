//! Helpers shared by the integration tests.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use failfast::{Breaker, Builder, Clock, Events, Listener, ManualClock, Name, Open, Transition};

pub mod logs;
pub mod metrics;
pub mod redis_server;
pub mod retry;

/// One second.
pub const SEC: Duration = Duration::from_secs(1);

/// A builder for `name` on a fresh manual clock, and the clock.
pub fn manual(name: impl Into<Name>) -> (Builder, ManualClock) {
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

/// The listener `.1`, saying it hears only `.0`: every event it is told of reaches `.1`, so a
/// test sees whether the breaker kept to what it said.
pub struct Hearing<L>(pub Events, pub L);

impl<L: Listener> Listener for Hearing<L> {
    fn hears(&self) -> Events {
        self.0
    }
    fn on_transition(&self, t: &Transition) {
        self.1.on_transition(t)
    }
    fn on_rejected(&self, open: &Open) {
        self.1.on_rejected(open)
    }
    fn on_success(&self, name: &str) {
        self.1.on_success(name)
    }
    fn on_failure(&self, name: &str) {
        self.1.on_failure(name)
    }
    fn on_ignored(&self, name: &str) {
        self.1.on_ignored(name)
    }
}

/// A clock of whole seconds that cannot ring alarms: a breaker on it reads it on refused calls,
/// and moves an open circuit to half-open when a call finds the period ended.
#[derive(Debug, Default, Clone)]
pub struct PlainClock(Arc<AtomicU64>);

impl PlainClock {
    /// Sets the clock to `secs` seconds.
    pub fn set_secs(&self, secs: u64) {
        self.0.store(secs, Ordering::SeqCst);
    }
}

impl Clock for PlainClock {
    fn now(&self) -> Duration {
        Duration::from_secs(self.0.load(Ordering::SeqCst))
    }
}

/// Waits for `condition` to hold, checking about every millisecond, for at most `limit`:
/// returns how long it took, or `None` if it never held.
pub fn within(limit: Duration, mut condition: impl FnMut() -> bool) -> Option<Duration> {
    let start = std::time::Instant::now();
    loop {
        if condition() {
            return Some(start.elapsed());
        }
        if start.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}
