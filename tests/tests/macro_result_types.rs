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
