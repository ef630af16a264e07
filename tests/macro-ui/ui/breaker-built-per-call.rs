use std::time::Duration;

use failfast::{Breaker, failfast};

#[failfast(breaker = &Breaker::builder("quotes").open_for(Duration::from_secs(30)).build().unwrap())]
fn quote() -> Result<u32, failfast::Open> {
    Ok(1)
}

fn main() {
    let _ = quote();
}
