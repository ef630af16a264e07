// Review 12 (fixed: the sync body borrows again): a `&mut self` method whose breaker is a field of `self` no longer compiles
// (E0505, "cannot move out of `self` because it is borrowed"). `c5930de` made the sync body a
// `move` closure whenever the fallback is not a closure, to drop the arguments before a
// function fallback; the closure then moves the `self` reference, while
// `__failfast_breaker = &(self.breaker)` still borrows it. The non-`move` body of `c5930de^`
// captured `self.calls` and `self.breaker` disjointly, and compiled. This is the common shape
// of a client with `&mut self` methods (`breaker = self.breaker` is the documented way to
// share a breaker). Fix: keep the body non-`move` and move into it only the arguments that own
// something (`let name = name;` at its top for each argument whose type is not a reference and
// is not a receiver): references need no dropping, so `self`, `&T` and `&mut T` stay
// captured as before, and owned arguments (guards, connections) are still dropped when the
// body ends.
use std::time::Duration;

use failfast::{Breaker, failfast};

#[derive(Debug, thiserror::Error)]
enum ApiError {
    #[error("down")]
    Down,
    #[error(transparent)]
    Open(#[from] failfast::Open),
}

struct Client {
    breaker: Breaker,
    calls: u32,
}

impl Client {
    #[failfast(breaker = self.breaker)]
    fn send(&mut self, fail: bool) -> Result<u32, ApiError> {
        self.calls += 1;
        if fail {
            return Err(ApiError::Down);
        }
        Ok(self.calls)
    }
}

fn main() {
    let mut client = Client {
        breaker: Breaker::new("pass_mut_self_breaker_field", Duration::from_secs(60)),
        calls: 0,
    };
    assert_eq!(client.send(false).unwrap(), 1);
    assert!(client.send(true).is_err());
}
