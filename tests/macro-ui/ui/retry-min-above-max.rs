use failfast::failfast;

#[failfast("inventory", 60, retry(wait = exponential(min = "10s", max = "2s")))]
fn stock() -> Result<u32, failfast::Open> {
    Ok(1)
}

fn main() {}
