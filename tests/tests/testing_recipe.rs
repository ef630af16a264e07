//! The README's recipe for testing code guarded by `#[failfast("name", ..)]`: the registry's
//! breakers follow tokio's paused time once its default clock is a `TokioClock`, and
//! `reset_all` starts each test with closed circuits. (A test binary of its own: the recipe
//! sets the global registry's defaults.)

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use failfast::{Registry, TokioClock, failfast};

#[derive(Debug, PartialEq)]
enum ApiError {
    Down,
    Open,
}

impl From<failfast::Open> for ApiError {
    fn from(_: failfast::Open) -> Self {
        ApiError::Open
    }
}

static DOWN: AtomicU32 = AtomicU32::new(0);

#[failfast("recipe_quotes", 6)]
async fn quote() -> Result<u32, ApiError> {
    if DOWN.load(Ordering::SeqCst) > 0 {
        Err(ApiError::Down)
    } else {
        Ok(42)
    }
}

/// The tests share `quote`'s circuit: one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// What each test does first.
fn start_clean() {
    Registry::global().set_default_clock(TokioClock::new());
    Registry::global().reset_all();
}

#[tokio::test(start_paused = true)]
async fn a_macro_breaker_follows_paused_time() {
    let _serial = SERIAL.lock().await;
    start_clean();
    DOWN.store(1, Ordering::SeqCst);
    assert_eq!(quote().await, Err(ApiError::Down));
    assert_eq!(quote().await, Err(ApiError::Open));
    DOWN.store(0, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(6)).await; // at once: time is paused
    assert_eq!(
        quote().await,
        Ok(42),
        "the probe went through and closed it"
    );
}

#[tokio::test(start_paused = true)]
async fn a_test_does_not_inherit_another_s_open_circuit() {
    let _serial = SERIAL.lock().await;
    start_clean();
    DOWN.store(1, Ordering::SeqCst);
    assert_eq!(quote().await, Err(ApiError::Down));
    DOWN.store(0, Ordering::SeqCst);
    // The next test (simulated): it starts clean, and the circuit is closed again.
    start_clean();
    assert_eq!(quote().await, Ok(42));
}
