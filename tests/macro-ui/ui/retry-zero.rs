use failfast::failfast;

#[failfast("inventory", 60, retry = 0)]
fn stock() -> Result<u32, failfast::Open> {
    Ok(1)
}

fn main() {}
