//! Two `#[failfast("name", ..)]` functions that name one circuit with different settings are
//! reported (a warning, and a panic in debug builds) rather than left to whichever runs first;
//! a breaker made before the macro's keeps its settings, and is reported at `INFO`. The
//! registry makes a function's breaker outside its locks, so a listener's `attach` may call
//! another such function.

use std::panic::catch_unwind;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use failfast::{BreakerInfo, Listener, Registry, TripPolicy, failfast};

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

#[failfast("conflict_sales", 60)]
fn invoices() -> Result<u32, ApiError> {
    Ok(1)
}

#[failfast("conflict_sales", 60)]
fn orders() -> Result<u32, ApiError> {
    Ok(2)
}

#[failfast("conflict_sales", 30, threshold = 3)]
fn refunds() -> Result<u32, ApiError> {
    Ok(3)
}

#[test]
fn functions_that_agree_share_the_circuit_and_one_that_disagrees_is_reported() {
    tests::logs::logs(); // the subscriber, installed before anything is logged
    assert_eq!(invoices(), Ok(1));
    assert_eq!(orders(), Ok(2), "the same settings: no report");
    let panic = catch_unwind(refunds).expect_err("a debug build panics");
    let message = panic.downcast_ref::<String>().unwrap();
    assert!(
        message.contains("registry_conflicts::refunds` (open for 30s, threshold 3)")
            && message.contains("registry_conflicts::invoices` (open for 60s, threshold 1)"),
        "{message}"
    );
    let warned = tests::logs::containing("circuit `conflict_sales`")
        .iter()
        .any(|l| l.contains("WARN"));
    assert!(warned, "and a tracing warning, for release builds");
}

#[failfast("conflict_preregistered", 60)]
fn preregistered() -> Result<u32, ApiError> {
    Err(ApiError::Down)
}

#[test]
fn a_breaker_made_before_the_macro_s_keeps_its_settings_and_is_reported_at_info() {
    tests::logs::logs(); // the subscriber, installed before anything is logged
    Registry::global()
        .get_or_build("conflict_preregistered", |b| {
            b.trip(TripPolicy::consecutive_failures(2))
                .open_for(Duration::from_secs(5))
        })
        .unwrap();
    assert_eq!(preregistered(), Err(ApiError::Down));
    assert_eq!(
        preregistered(),
        Err(ApiError::Down),
        "two failures open it, not the macro's one"
    );
    assert_eq!(preregistered(), Err(ApiError::Open));
    let noted =
        tests::logs::containing("uses the breaker made before it; its own settings are not used")
            .iter()
            .any(|l| l.contains("INFO"));
    assert!(noted);
}

#[failfast("attach_inner", 60)]
fn inner() -> Result<u32, ApiError> {
    Ok(4)
}

#[failfast("attach_outer", 60)]
fn outer() -> Result<u32, ApiError> {
    Ok(5)
}

/// Calls `inner` when the breaker of `outer` is made, and keeps what it answered.
#[derive(Default)]
struct CallsInnerWhenAttached(Mutex<Option<Result<u32, ApiError>>>);

impl Listener for CallsInnerWhenAttached {
    fn attach(&self, breaker: &BreakerInfo<'_>) -> Option<Arc<dyn Listener>> {
        if breaker.name.as_str() == "attach_outer" {
            *self.0.lock().unwrap() = Some(inner());
        }
        None
    }
}

#[test]
fn a_listener_s_attach_may_call_a_failfast_function() {
    let listener = Arc::new(CallsInnerWhenAttached::default());
    Registry::global().add_listener(listener.clone());
    let (answer, answered) = mpsc::channel();
    // On a thread of its own, so that a deadlock fails the test instead of hanging it.
    std::thread::spawn(move || answer.send(outer()).unwrap());
    assert_eq!(
        answered.recv_timeout(Duration::from_secs(60)),
        Ok(Ok(5)),
        "outer answered: making its breaker did not wait on itself"
    );
    assert_eq!(
        *listener.0.lock().unwrap(),
        Some(Ok(4)),
        "attach called inner"
    );
}
