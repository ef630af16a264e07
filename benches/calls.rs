//! The calls every benchmark makes, so that their figures compare: a successful call, a
//! failing one, and a breaker (or peer) as a trait object making one call.

use std::hint::black_box;
use std::time::Duration;

/// An open period no benchmark outlives.
pub const HOUR: Duration = Duration::from_secs(3600);

/// A call that succeeds.
pub fn work() -> Result<u64, ()> {
    Ok(black_box(1))
}

/// A call that fails.
pub fn fail() -> Result<u64, ()> {
    Err(())
}

/// A breaker and a way to make one call through it: whether the call ran.
pub trait Contender: Sync {
    fn call(&self) -> bool;
}

impl Contender for failfast::Breaker {
    #[inline]
    fn call(&self) -> bool {
        failfast::Breaker::call(self, work).is_ok()
    }
}
