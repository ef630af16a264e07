use failfast::failfast;

#[failfast("inventory", 60, retry(attempts = 3, wait = fixed("2 parsecs")))]
fn stock() -> Result<u32, failfast::Open> {
    Ok(1)
}

fn main() {}
