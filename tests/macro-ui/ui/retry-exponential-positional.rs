use failfast::failfast;

#[failfast("inventory", 60, retry(attempts = 3, wait = exponential("2s", "10s")))]
fn stock() -> Result<u32, failfast::Open> {
    Ok(1)
}

fn main() {}
