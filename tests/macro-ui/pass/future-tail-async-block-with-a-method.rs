// A function returning a future whose body ends in an async block with methods applied
// (`async move { .. }.instrument(span)` of tracing, `.boxed()` of futures; both defined here, as
// those crates define them): the async block is guarded, and the calls are kept around the
// guarded future. (Review 12)
use std::future::Future;
use std::pin::Pin;

use failfast::failfast;

#[derive(Debug, PartialEq, thiserror::Error)]
enum ApiError {
    #[error("down")]
    Down,
    #[error(transparent)]
    Open(#[from] failfast::Open),
}

/// `futures::FutureExt::boxed`.
trait Boxed: Future + Send + Sized + 'static {
    fn boxed(self) -> Pin<Box<dyn Future<Output = Self::Output> + Send>> {
        Box::pin(self)
    }
}

impl<F: Future + Send + 'static> Boxed for F {}

/// `tracing::Instrument::instrument`, without the span.
trait Instrument: Sized {
    fn instrument(self, _span: &str) -> Self {
        self
    }
}

impl<F: Future> Instrument for F {}

#[failfast("pass_future_tail_boxed", 3600)]
fn boxed(fail: bool) -> Pin<Box<dyn Future<Output = Result<u32, ApiError>> + Send>> {
    async move { if fail { Err(ApiError::Down) } else { Ok(3) } }.boxed()
}

#[failfast("pass_future_tail_instrumented", 3600)]
fn instrumented(fail: bool) -> impl Future<Output = Result<u32, ApiError>> {
    async move { if fail { Err(ApiError::Down) } else { Ok(4) } }.instrument("stock")
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(boxed(false).await, Ok(3));
    assert_eq!(instrumented(false).await, Ok(4));
}
