// A closure fallback returning the `Ok` value rather than the `Result`: one error at the
// closure's body, suggesting `Ok(..)`.
use failfast::failfast;

#[failfast("inventory", 60, fallback = |_| 0)]
fn stock() -> anyhow::Result<u32> {
    Ok(1)
}

fn main() {
    let _ = stock();
}
