//! `#[failfast]` decides by a function's type, not by its name, whether it returns a `Result`:
//! a `Result` under an alias is guarded as one, errors counted; any other type with a fallback
//! fails only by panicking.

use std::sync::atomic::{AtomicU32, Ordering};

use failfast::{Error, failfast};

#[derive(Debug, PartialEq, thiserror::Error)]
enum ApiError {
    #[error("timed out")]
    Timeout,
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Open(#[from] failfast::Open),
}

type ApiResult<T> = Result<T, ApiError>;

#[failfast("alias_patterns", 3600, exceptions = [ApiError::Timeout])]
fn patterned(error: ApiError) -> ApiResult<u8> {
    Err(error)
}

#[test]
fn a_result_under_an_alias_counts_the_errors_its_patterns_match() {
    assert_eq!(patterned(ApiError::NotFound), Err(ApiError::NotFound));
    assert_eq!(patterned(ApiError::NotFound), Err(ApiError::NotFound));
    assert_eq!(patterned(ApiError::Timeout), Err(ApiError::Timeout));
    assert!(matches!(
        patterned(ApiError::NotFound),
        Err(ApiError::Open(_))
    ));
}

fn cached(error: Error<ApiError>) -> ApiResult<u8> {
    Ok(if error.is_open() { 100 } else { 200 })
}

#[failfast("alias_fallback", 3600, fallback = cached)]
fn fetch(error: Option<ApiError>) -> ApiResult<u8> {
    error.map_or(Ok(1), Err)
}

#[test]
fn a_result_under_an_alias_with_only_a_fallback_counts_its_errors() {
    assert_eq!(fetch(None), Ok(1));
    assert_eq!(
        fetch(Some(ApiError::Timeout)),
        Ok(200),
        "a failure, counted"
    );
    assert_eq!(fetch(None), Ok(100), "refused: the circuit opened");
}

async fn cached_async(error: Error<ApiError>) -> ApiResult<u8> {
    Ok(if error.is_open() { 10 } else { 20 })
}

#[failfast("alias_async_fallback", 3600, fallback = cached_async)]
async fn fetch_async(error: Option<ApiError>) -> ApiResult<u8> {
    error.map_or(Ok(1), Err)
}

#[tokio::test]
async fn an_async_result_under_an_alias_with_only_a_fallback_counts_its_errors() {
    assert_eq!(fetch_async(None).await, Ok(1));
    assert_eq!(fetch_async(Some(ApiError::Timeout)).await, Ok(20));
    assert_eq!(fetch_async(None).await, Ok(10));
}

#[failfast("alias_retry", 3600, retry = 3)]
fn retried(calls: &AtomicU32) -> ApiResult<u32> {
    match calls.fetch_add(1, Ordering::SeqCst) {
        0 | 1 => Err(ApiError::Timeout),
        n => Ok(n),
    }
}

#[test]
fn a_result_under_an_alias_is_retried() {
    let calls = AtomicU32::new(0);
    assert_eq!(retried(&calls), Ok(2));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

mod io_like {
    /// A module's own `Result`, as `std::io` has.
    pub type Result<T> = std::result::Result<T, super::ApiError>;
}

#[failfast("module_result", 3600)]
fn module_result() -> io_like::Result<u8> {
    Err(ApiError::Timeout)
}

#[test]
fn a_modules_own_result_alias_takes_the_rejection() {
    assert_eq!(module_result(), Err(ApiError::Timeout));
    assert!(matches!(module_result(), Err(ApiError::Open(_))));
}

/// A reply that is not a `Result`: the function fails only by panicking.
#[derive(Debug, PartialEq)]
struct Reply(u32);

fn stale(_: Error<std::convert::Infallible>) -> Reply {
    Reply(0)
}

static REPLIES: AtomicU32 = AtomicU32::new(0);

#[failfast("struct_total", 3600, fallback = stale)]
fn reply() -> Reply {
    let n = REPLIES.fetch_add(1, Ordering::SeqCst);
    assert!(n != 1, "the upstream is down");
    Reply(n + 1)
}

#[test]
fn a_type_that_is_not_a_result_with_a_fallback_fails_only_by_panicking() {
    assert_eq!(reply(), Reply(1));
    assert!(std::panic::catch_unwind(reply).is_err());
    assert_eq!(reply(), Reply(0), "the panic opened the circuit");
    assert_eq!(REPLIES.load(Ordering::SeqCst), 2);
}

async fn stale_async(_: Error<std::convert::Infallible>) -> Reply {
    Reply(0)
}

#[failfast("struct_total_async", 3600, fallback = stale_async)]
async fn reply_async(panics: bool) -> Reply {
    assert!(!panics, "the upstream is down");
    Reply(7)
}

#[tokio::test]
async fn an_async_type_that_is_not_a_result_with_a_fallback_fails_only_by_panicking() {
    use futures::FutureExt;
    assert_eq!(reply_async(false).await, Reply(7));
    let panicked = std::panic::AssertUnwindSafe(reply_async(true))
        .catch_unwind()
        .await;
    assert!(panicked.is_err());
    assert_eq!(reply_async(false).await, Reply(0));
}

/// An error type a Python user lists in `exceptions`, as `exceptions=[TimeoutError]`.
#[derive(Debug, thiserror::Error)]
#[error("timed out")]
struct TimeoutError;

#[derive(Debug, thiserror::Error)]
#[error("fetching")]
struct Fetching(#[source] std::io::Error);

#[failfast("anyhow_io", 3600, exceptions = [std::io::Error, TimeoutError])]
fn anyhow_io(error: anyhow::Error) -> anyhow::Result<u8> {
    Err(error)
}

#[failfast("anyhow_timeout", 3600, exceptions = [std::io::Error, TimeoutError])]
fn anyhow_timeout(error: anyhow::Error) -> anyhow::Result<u8> {
    Err(error)
}

fn refused(result: anyhow::Result<u8>) -> bool {
    result
        .unwrap_err()
        .downcast_ref::<failfast::Open>()
        .is_some()
}

#[test]
fn error_types_in_exceptions_count_an_anyhow_error_of_that_type_or_caused_by_one() {
    use anyhow::Context;
    for guarded in [anyhow_io, anyhow_timeout] {
        assert!(!refused(guarded(anyhow::anyhow!("bad request"))));
        assert!(
            !refused(guarded(anyhow::anyhow!("bad request"))),
            "not counted"
        );
    }
    let io = Err::<(), _>(std::io::Error::other("reset")).context("fetching");
    assert!(!refused(anyhow_io(io.unwrap_err())));
    assert!(
        refused(anyhow_io(anyhow::anyhow!("bad request"))),
        "an io::Error under context counted"
    );
    assert!(!refused(anyhow_timeout(TimeoutError.into())));
    assert!(
        refused(anyhow_timeout(anyhow::anyhow!("bad request"))),
        "a TimeoutError counted"
    );
}

#[failfast("boxed_types", 3600, exceptions = [std::io::Error])]
fn boxed_typed(
    error: Box<dyn std::error::Error + Send + Sync>,
) -> Result<u8, Box<dyn std::error::Error + Send + Sync>> {
    Err(error)
}

#[test]
fn error_types_in_exceptions_count_a_boxed_error_caused_by_one() {
    assert!(boxed_typed("not counted".into()).is_err());
    assert!(
        boxed_typed("still closed".into())
            .unwrap_err()
            .downcast_ref::<failfast::Open>()
            .is_none()
    );
    let _ = boxed_typed(Box::new(Fetching(std::io::Error::other("reset"))));
    let refused = boxed_typed("refused".into()).unwrap_err();
    assert!(refused.downcast_ref::<failfast::Open>().is_some());
}

#[derive(Debug, thiserror::Error)]
enum StoreError {
    #[error("i/o")]
    Io(#[from] std::io::Error),
    #[error("not found")]
    NotFound,
    #[error("busy")]
    Busy,
    #[error(transparent)]
    Open(#[from] failfast::Open),
}

#[failfast("enum_types", 3600, exceptions = [StoreError::Busy, std::io::Error])]
fn enum_typed(error: StoreError) -> Result<u8, StoreError> {
    Err(error)
}

#[test]
fn error_types_and_patterns_mix_on_an_enum_error() {
    assert!(matches!(
        enum_typed(StoreError::NotFound),
        Err(StoreError::NotFound)
    ));
    assert!(
        matches!(enum_typed(StoreError::NotFound), Err(StoreError::NotFound)),
        "not counted"
    );
    let _ = enum_typed(std::io::Error::other("reset").into());
    assert!(
        matches!(enum_typed(StoreError::NotFound), Err(StoreError::Open(_))),
        "an io::Error source counted"
    );
}

#[failfast("enum_variant_counts", 3600, exceptions = [StoreError::Busy, std::io::Error])]
fn busy(error: StoreError) -> Result<u8, StoreError> {
    Err(error)
}

#[test]
fn a_variant_beside_an_error_type_is_still_a_pattern() {
    let _ = busy(StoreError::Busy);
    assert!(matches!(
        busy(StoreError::NotFound),
        Err(StoreError::Open(_))
    ));
}
