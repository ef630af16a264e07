//! `#[failfast]` on every shape of function it promises to guard.

use std::future::Future;
use std::pin::Pin;

use failfast::{Registry, failfast};

#[derive(Debug, PartialEq, thiserror::Error)]
enum ApiError {
    #[error("down")]
    Down,
    #[error(transparent)]
    Open(#[from] failfast::Open),
}

fn is_open<T>(result: Result<T, ApiError>) -> bool {
    matches!(result, Err(ApiError::Open(_)))
}

#[failfast("shape_sync", 3600)]
fn sync_fn(fail: bool) -> Result<u8, ApiError> {
    if fail {
        return Err(ApiError::Down);
    }
    Ok(1)
}

#[test]
fn a_sync_fn() {
    assert_eq!(sync_fn(false), Ok(1));
    assert_eq!(sync_fn(true), Err(ApiError::Down));
    assert!(is_open(sync_fn(false)));
}

#[failfast("shape_async", 3600)]
async fn async_fn(fail: bool) -> Result<u8, ApiError> {
    let value = if fail { Err(ApiError::Down) } else { Ok(2) };
    let value = value?;
    Ok(value)
}

#[tokio::test]
async fn an_async_fn() {
    assert_eq!(async_fn(false).await, Ok(2));
    assert_eq!(async_fn(true).await, Err(ApiError::Down));
    assert!(is_open(async_fn(false).await));
}

#[failfast("shape_impl_future", 3600)]
fn impl_future(fail: bool) -> impl Future<Output = Result<u8, ApiError>> {
    let answer = if fail { Err(ApiError::Down) } else { Ok(3) };
    async move { answer }
}

#[tokio::test]
async fn a_fn_returning_impl_future() {
    let pending = impl_future(true);
    assert_eq!(pending.await, Err(ApiError::Down));
    assert!(is_open(impl_future(false).await));
}

#[failfast("shape_box_pin", 3600)]
fn boxed(fail: bool) -> Pin<Box<dyn Future<Output = Result<u8, ApiError>> + Send>> {
    Box::pin(async move { if fail { Err(ApiError::Down) } else { Ok(4) } })
}

#[tokio::test]
async fn a_box_pin_body() {
    assert_eq!(boxed(false).await, Ok(4));
    let _ = boxed(true).await;
    assert!(is_open(boxed(false).await));
}

#[async_trait::async_trait]
trait Inventory {
    async fn count(&self, fail: bool) -> Result<u8, ApiError>;
}

struct Warehouse;

#[async_trait::async_trait]
impl Inventory for Warehouse {
    #[failfast("shape_async_trait", 3600)]
    async fn count(&self, fail: bool) -> Result<u8, ApiError> {
        if fail { Err(ApiError::Down) } else { Ok(5) }
    }
}

#[tokio::test]
async fn an_async_trait_method() {
    let warehouse = Warehouse;
    assert_eq!(warehouse.count(false).await, Ok(5));
    let _ = warehouse.count(true).await;
    assert!(is_open(warehouse.count(false).await));
    let future = warehouse.count(false);
    fn send<T: Send>(_: &T) {}
    send(&future);
}

struct Client {
    calls: u32,
    name: String,
}

impl Client {
    #[failfast("shape_ref_self", 3600)]
    fn by_ref(&self) -> Result<&str, ApiError> {
        Ok(&self.name)
    }

    #[failfast("shape_mut_self", 3600)]
    fn by_mut(&mut self) -> Result<u32, ApiError> {
        self.calls += 1;
        Ok(self.calls)
    }

    #[failfast("shape_self", 3600)]
    fn by_value(self) -> Result<String, ApiError> {
        Ok(self.name)
    }

    #[failfast("shape_async_ref_self", 3600)]
    async fn async_by_ref(&self) -> Result<u32, ApiError> {
        Ok(self.calls)
    }
}

#[tokio::test]
async fn methods_taking_self_every_way() {
    let mut client = Client {
        calls: 0,
        name: "acme".into(),
    };
    assert_eq!(client.by_ref(), Ok("acme"));
    assert_eq!(client.by_mut(), Ok(1));
    assert_eq!(client.by_mut(), Ok(2));
    assert_eq!(client.async_by_ref().await, Ok(2));
    assert_eq!(client.by_value(), Ok("acme".to_string()));
}

#[failfast("shape_generic", 3600)]
fn generic<'a, T, U: Clone>(items: &'a [T], extra: U) -> Result<(&'a T, U), ApiError>
where
    T: std::fmt::Debug,
{
    items
        .first()
        .map(|first| (first, extra.clone()))
        .ok_or(ApiError::Down)
}

#[test]
fn generics_lifetimes_and_where_clauses() {
    assert_eq!(generic(&[1, 2], "x"), Ok((&1, "x")));
    assert_eq!(generic::<u8, _>(&[], 0), Err(ApiError::Down));
    assert!(
        is_open(generic(&["a"], ())),
        "one circuit for every instantiation"
    );
}

trait Lookup {
    fn lookup(&self, key: u8) -> Result<u8, ApiError>;
}

impl Lookup for Client {
    #[failfast("shape_trait_impl", 3600)]
    fn lookup(&self, key: u8) -> Result<u8, ApiError> {
        Ok(key)
    }
}

#[test]
fn a_trait_impl_method() {
    let client = Client {
        calls: 0,
        name: String::new(),
    };
    assert_eq!(client.lookup(9), Ok(9));
}

mod visibility {
    use super::ApiError;
    use failfast::failfast;

    /// Kept attributes: documentation, visibility, `inline`, `must_use`, `tracing::instrument`.
    #[failfast("shape_attributes", 3600)]
    #[inline]
    #[must_use = "the answer matters"]
    #[tracing::instrument]
    pub(crate) fn attributed(x: u8) -> Result<u8, ApiError> {
        Ok(x * 2)
    }
}

#[test]
fn visibility_and_other_attributes_stay_in_place() {
    assert_eq!(visibility::attributed(4), Ok(8));
    assert!(Registry::global().get("shape_attributes").is_some());
}

async fn stale_count(_: failfast::Error<ApiError>) -> Result<u8, ApiError> {
    Ok(0)
}

#[failfast("shape_async_fallback", 3600, fallback = stale_count)]
async fn count_or_stale(fail: bool) -> Result<u8, ApiError> {
    tokio::task::yield_now().await;
    if fail { Err(ApiError::Down) } else { Ok(5) }
}

async fn unknown(_: failfast::Error<std::convert::Infallible>) -> String {
    "unknown".to_owned()
}

#[failfast("shape_async_total_fallback", 3600, fallback = unknown)]
async fn greeting() -> String {
    tokio::task::yield_now().await;
    "hello".to_owned()
}

/// Once, an async fallback made the future `!Send` (a `Cell` held across an await), so such a
/// function could not be an axum handler or be spawned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_async_fn_with_a_fallback_can_be_spawned() {
    assert_eq!(tokio::spawn(count_or_stale(false)).await.unwrap(), Ok(5));
    assert_eq!(tokio::spawn(count_or_stale(true)).await.unwrap(), Ok(0));
    assert_eq!(
        tokio::spawn(count_or_stale(false)).await.unwrap(),
        Ok(0),
        "open: the fallback"
    );
    assert_eq!(tokio::spawn(greeting()).await.unwrap(), "hello");
}
