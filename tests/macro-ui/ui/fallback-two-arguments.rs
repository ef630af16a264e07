// A fallback function of two arguments: one error at the path, that it must take one.
use failfast::{Error, failfast};

fn cached(_: Error<anyhow::Error>, _: u32) -> anyhow::Result<u32> {
    Ok(0)
}

#[failfast("inventory", 60, fallback = cached)]
fn stock(id: u32) -> anyhow::Result<u32> {
    Ok(id)
}

fn main() {
    let _ = stock(1);
}
