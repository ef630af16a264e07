use std::time::Duration;

use failfast::{Breaker, failfast};

#[failfast(breaker = Breaker::new("quotes", Duration::from_secs(30)))]
fn quote() -> Result<u32, failfast::Open> {
    Ok(1)
}

fn main() {
    let _ = quote();
}
