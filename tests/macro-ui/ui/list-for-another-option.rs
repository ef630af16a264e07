use failfast::failfast;

#[failfast("inventory", 60, exceptions(failfast::Open))]
fn stock() -> Result<u32, failfast::Open> {
    Ok(1)
}

fn main() {}
