// Review 12: pinned. The new error for a future body not ending in an async block has no false
// positive among the tails it should accept: `std::boxed::Box::pin(async { .. })` (a full path,
// a block without `move`), `Box::pin(async move { .. })` under `impl Future`, an `impl Future +
// Send + 'a` borrowing `self`, and an `async fn` (never checked). Each is guarded: its error
// counts and opens the circuit.
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use failfast::{Breaker, failfast};

#[derive(Debug, PartialEq, thiserror::Error)]
enum ApiError {
    #[error("down")]
    Down,
    #[error(transparent)]
    Open(#[from] failfast::Open),
}

#[failfast("pass_tail_full_path", 3600)]
fn full_path(fail: bool) -> Pin<Box<dyn Future<Output = Result<u8, ApiError>> + Send>> {
    std::boxed::Box::pin(async { if fail { Err(ApiError::Down) } else { Ok(1) } })
}

#[failfast("pass_tail_box_pin_impl", 3600)]
fn box_pin_impl(fail: bool) -> impl Future<Output = Result<u8, ApiError>> {
    Box::pin(async move { if fail { Err(ApiError::Down) } else { Ok(2) } })
}

struct Store {
    breaker: Breaker,
    value: u8,
}

impl Store {
    #[failfast(breaker = self.breaker)]
    fn get<'a>(&'a self, fail: bool) -> impl Future<Output = Result<u8, ApiError>> + Send + 'a {
        async move { if fail { Err(ApiError::Down) } else { Ok(self.value) } }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(full_path(false).await, Ok(1));
    assert_eq!(full_path(true).await, Err(ApiError::Down));
    assert!(matches!(full_path(false).await, Err(ApiError::Open(_))), "opened");
    assert_eq!(box_pin_impl(true).await, Err(ApiError::Down));
    assert!(matches!(box_pin_impl(false).await, Err(ApiError::Open(_))), "opened");
    let store = Store {
        breaker: Breaker::new("pass_tail_self", Duration::from_secs(3600)),
        value: 3,
    };
    assert_eq!(store.get(false).await, Ok(3));
    assert_eq!(store.get(true).await, Err(ApiError::Down));
    assert!(matches!(store.get(false).await, Err(ApiError::Open(_))), "opened");
}
