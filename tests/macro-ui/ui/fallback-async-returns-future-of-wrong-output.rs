// An async function's fallback written as a fn returning `impl Future` of the wrong output:
// one error, at the path, naming both types.
use std::future::Future;

use failfast::{Error, failfast};

fn cached(_: Error<anyhow::Error>) -> impl Future<Output = Option<u32>> {
    async { None }
}

#[failfast("inventory", 60, fallback = cached)]
async fn stock() -> anyhow::Result<u32> {
    Ok(1)
}

fn main() {
    let _ = stock();
}
