use failfast::failfast;

#[failfast("inventory", 60, retry(attemps = 3))]
fn stock() -> Result<u32, failfast::Open> {
    Ok(1)
}

fn main() {}
