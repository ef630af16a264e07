// A function returning a future under an alias whose output the macro cannot read
// (`futures::future::BoxFuture<'a, T>`, defined here as futures defines it), whose body ends in
// `Box::pin(async move { .. })`: the async block's type decides what is guarded. (Review 12)
use std::future::Future;
use std::pin::Pin;

use failfast::failfast;

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

#[derive(Debug, PartialEq, thiserror::Error)]
enum ApiError {
    #[error("down")]
    Down,
    #[error(transparent)]
    Open(#[from] failfast::Open),
}

#[failfast("pass_box_future_alias", 3600)]
fn stock(fail: bool) -> BoxFuture<'static, Result<u32, ApiError>> {
    Box::pin(async move { if fail { Err(ApiError::Down) } else { Ok(3) } })
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(stock(false).await, Ok(3));
    assert_eq!(stock(true).await, Err(ApiError::Down));
}
