use failfast::failfast;

#[failfast("inventory", 60, retry(3))]
fn stock() -> Result<u32, failfast::Open> {
    Ok(1)
}

fn main() {}
