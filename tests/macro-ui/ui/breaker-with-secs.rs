use std::sync::LazyLock;
use std::time::Duration;

use failfast::{Breaker, failfast};

static INVENTORY: LazyLock<Breaker> = LazyLock::new(|| Breaker::new("inventory", Duration::from_secs(60)));

#[failfast(breaker = INVENTORY, secs = 5)]
fn stock() -> anyhow::Result<u32> {
    Ok(1)
}

fn main() {
    let _ = stock();
}
