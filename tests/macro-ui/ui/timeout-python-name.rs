use failfast::failfast;

#[failfast("inventory", timeout = 60)]
fn stock() -> Result<u32, failfast::Open> {
    Ok(1)
}

fn main() {}
