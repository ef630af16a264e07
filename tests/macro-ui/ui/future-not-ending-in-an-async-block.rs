// A function returning `impl Future` whose body does not end in an `async` block (it returns
// another function's future): one error at the tail, saying to write
// `async move { inner().await }`.
use std::future::Future;

use failfast::failfast;

type ApiResult<T> = anyhow::Result<T>;

async fn inner() -> ApiResult<u32> {
    Ok(1)
}

#[failfast("inventory", 60)]
fn stock() -> impl Future<Output = ApiResult<u32>> {
    inner()
}

fn main() {
    let _ = stock();
}
