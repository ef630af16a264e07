//! What `#[failfast]` does: one circuit per name, which errors count, the options, fallbacks.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use failfast::{Breaker, ManualClock, MemoryStore, Registry, failfast};

#[derive(Debug, PartialEq, thiserror::Error)]
enum ApiError {
    #[error("timed out")]
    Timeout,
    #[error("status {0}")]
    Status(u16),
    #[error(transparent)]
    Open(#[from] failfast::Open),
}

fn is_open<T>(result: &Result<T, ApiError>) -> bool {
    matches!(result, Err(ApiError::Open(_)))
}

mod billing {
    use super::ApiError;
    use failfast::failfast;

    #[failfast("shared_name", 3600)]
    pub fn charge() -> Result<(), ApiError> {
        Err(ApiError::Timeout)
    }
}

mod refunds {
    use super::ApiError;
    use failfast::failfast;

    #[failfast("shared_name", 3600)]
    pub fn refund() -> Result<(), ApiError> {
        Ok(())
    }
}

#[test]
fn one_name_is_one_circuit_across_functions_and_modules() {
    let _ = billing::charge();
    assert!(is_open(&refunds::refund()));
    assert!(
        Registry::global()
            .get("shared_name")
            .unwrap()
            .state()
            .is_open()
    );
}

static RAN: AtomicU32 = AtomicU32::new(0);

#[failfast("body_skipped", 3600)]
fn counted_runs() -> Result<(), ApiError> {
    RAN.fetch_add(1, Ordering::SeqCst);
    Err(ApiError::Timeout)
}

#[test]
fn an_open_circuit_does_not_run_the_body() {
    assert_eq!(counted_runs(), Err(ApiError::Timeout));
    for _ in 0..5 {
        assert!(is_open(&counted_runs()));
    }
    assert_eq!(RAN.load(Ordering::SeqCst), 1);
}

#[failfast("patterns", 3600, exceptions = [ApiError::Timeout, ApiError::Status(code) if *code >= 500])]
fn patterned(error: ApiError) -> Result<(), ApiError> {
    Err(error)
}

#[test]
fn only_matching_errors_count() {
    assert_eq!(patterned(ApiError::Status(404)), Err(ApiError::Status(404)));
    assert_eq!(patterned(ApiError::Status(499)), Err(ApiError::Status(499)));
    let breaker = Registry::global().get("patterns").unwrap();
    assert!(breaker.state().is_closed());
    assert_eq!(breaker.stats().ignored, 2);
    assert_eq!(patterned(ApiError::Status(503)), Err(ApiError::Status(503)));
    assert!(breaker.state().is_open());
}

fn is_timeout(error: &ApiError) -> bool {
    *error == ApiError::Timeout
}

#[failfast(name = "predicate", secs = 3600, when = is_timeout)]
fn predicated(error: ApiError) -> Result<(), ApiError> {
    Err(error)
}

#[test]
fn a_predicate_chooses_what_counts() {
    let _ = predicated(ApiError::Status(500));
    assert!(
        Registry::global()
            .get("predicate")
            .unwrap()
            .state()
            .is_closed()
    );
    let _ = predicated(ApiError::Timeout);
    assert!(is_open(&predicated(ApiError::Timeout)));
}

#[failfast("threshold", 3600, threshold = 3)]
fn flaky() -> Result<(), ApiError> {
    Err(ApiError::Timeout)
}

#[test]
fn threshold_counts_failures_in_a_row() {
    for _ in 0..3 {
        assert_eq!(flaky(), Err(ApiError::Timeout));
    }
    assert!(is_open(&flaky()));
}

#[failfast("float_secs", 0.25)]
fn quick() -> Result<(), ApiError> {
    Err(ApiError::Timeout)
}

#[test]
fn fractional_seconds() {
    let _ = quick();
    let failfast::State::Open { retry_in } = Registry::global().get("float_secs").unwrap().state()
    else {
        panic!("open expected");
    };
    assert!(retry_in <= Duration::from_millis(250) && retry_in > Duration::from_millis(100));
}

static STORE: LazyLock<MemoryStore> = LazyLock::new(MemoryStore::new);

#[failfast("in_store", 3600, store = STORE.clone())]
fn stored() -> Result<(), ApiError> {
    Err(ApiError::Timeout)
}

#[test]
fn a_store_holds_the_circuit() {
    let _ = stored();
    let other = Breaker::builder("in_store")
        .store(STORE.clone())
        .build()
        .unwrap();
    assert!(
        other.state().is_open(),
        "a breaker on the same store sees the opened circuit"
    );
}

static ENABLED: AtomicBool = AtomicBool::new(true);

#[failfast("switchable", 3600, enabled = ENABLED.load(Ordering::SeqCst))]
fn switchable(fail: bool) -> Result<u8, ApiError> {
    if fail { Err(ApiError::Timeout) } else { Ok(1) }
}

#[test]
fn enabled_is_evaluated_on_every_call() {
    let _ = switchable(true);
    assert!(is_open(&switchable(false)));
    ENABLED.store(false, Ordering::SeqCst);
    assert_eq!(switchable(false), Ok(1), "disabled: straight through");
    ENABLED.store(true, Ordering::SeqCst);
    assert!(is_open(&switchable(false)));
}

static CLOCK: LazyLock<ManualClock> = LazyLock::new(ManualClock::new);
static CONFIGURED: LazyLock<Breaker> = LazyLock::new(|| {
    Breaker::builder("configured_elsewhere")
        .clock(CLOCK.clone())
        .open_for(Duration::from_secs(10))
        .build()
        .unwrap()
});

#[failfast(breaker = CONFIGURED)]
fn configured(fail: bool) -> Result<u8, ApiError> {
    if fail { Err(ApiError::Timeout) } else { Ok(2) }
}

#[test]
fn a_breaker_configured_elsewhere_probes_and_recovers() {
    let _ = configured(true);
    assert!(is_open(&configured(false)));
    CLOCK.advance(Duration::from_secs(10));
    assert_eq!(configured(false), Ok(2), "the probe succeeds");
    assert!(CONFIGURED.state().is_closed());
}

struct Service {
    breaker: Breaker,
}

impl Service {
    #[failfast(breaker = self.breaker)]
    fn call(&self, fail: bool) -> Result<u8, ApiError> {
        if fail { Err(ApiError::Timeout) } else { Ok(3) }
    }
}

#[test]
fn a_breaker_from_a_field() {
    let service = Service {
        breaker: Breaker::new("field", Duration::from_secs(60)),
    };
    assert_eq!(service.call(false), Ok(3));
    let _ = service.call(true);
    assert!(is_open(&service.call(false)));
}

mod renamed {
    pub use failfast as breaker_crate;
}

#[failfast("renamed_crate", 3600, crate = renamed::breaker_crate)]
fn through_renamed() -> Result<u8, ApiError> {
    Ok(4)
}

#[test]
fn a_renamed_crate_path() {
    assert_eq!(through_renamed(), Ok(4));
}

#[failfast("anyhow_errors", 3600)]
fn with_anyhow() -> anyhow::Result<u8> {
    anyhow::bail!("broken")
}

#[failfast("boxed_errors", 3600)]
fn with_boxed() -> Result<u8, Box<dyn std::error::Error + Send + Sync>> {
    Err("broken".into())
}

#[test]
fn anyhow_and_boxed_errors_take_the_rejection() {
    let _ = with_anyhow();
    let open = with_anyhow().unwrap_err();
    assert!(open.downcast_ref::<failfast::Open>().is_some());
    let _ = with_boxed();
    let open = with_boxed().unwrap_err();
    assert!(open.downcast_ref::<failfast::Open>().is_some());
}

fn cached(error: failfast::Error<ApiError>) -> Result<u8, ApiError> {
    match error {
        failfast::Error::Open(_) => Ok(100),
        failfast::Error::Inner(_) => Ok(200),
    }
}

#[failfast("with_fallback", 3600, exceptions = [ApiError::Timeout], fallback = cached)]
fn with_fallback(error: ApiError) -> Result<u8, ApiError> {
    Err(error)
}

#[test]
fn the_fallback_answers_counted_failures_and_rejections_only() {
    assert_eq!(
        with_fallback(ApiError::Status(404)),
        Err(ApiError::Status(404))
    );
    assert_eq!(with_fallback(ApiError::Timeout), Ok(200));
    assert_eq!(with_fallback(ApiError::Status(404)), Ok(100));
}

async fn cached_async(error: failfast::Error<ApiError>) -> Result<u8, ApiError> {
    Ok(if error.is_open() { 10 } else { 20 })
}

#[failfast("async_fallback", 3600, fallback = cached_async)]
async fn async_with_fallback() -> Result<u8, ApiError> {
    Err(ApiError::Timeout)
}

#[tokio::test]
async fn an_async_fallback() {
    assert_eq!(async_with_fallback().await, Ok(20));
    assert_eq!(async_with_fallback().await, Ok(10));
}

fn visits_unknown(_: failfast::Error<std::convert::Infallible>) -> u64 {
    0
}

static VISITS: AtomicU32 = AtomicU32::new(0);

#[failfast("not_a_result", 3600, fallback = visits_unknown)]
fn visits() -> u64 {
    let n = VISITS.fetch_add(1, Ordering::SeqCst);
    assert!(n == 0, "redis is down");
    41
}

#[test]
fn a_function_that_fails_by_panicking_answers_from_its_fallback() {
    assert_eq!(visits(), 41);
    let panicked = std::panic::catch_unwind(visits);
    assert!(panicked.is_err(), "the panic keeps unwinding");
    assert_eq!(
        visits(),
        0,
        "the panic opened the circuit: the fallback answers"
    );
    assert_eq!(VISITS.load(Ordering::SeqCst), 2);
}
