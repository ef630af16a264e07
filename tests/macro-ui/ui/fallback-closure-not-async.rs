// A sync closure fallback on an async function: one error, that the closure's answer is not a
// future (the docs say to write `|_| async move { .. }`). rustc places it at the return type:
// a check of the closure alone would add a second error there.
use failfast::failfast;

#[failfast("inventory", 60, fallback = |_| Ok(0))]
async fn stock() -> anyhow::Result<u32> {
    Ok(1)
}

fn main() {
    let _ = stock();
}
