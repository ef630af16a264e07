use failfast::failfast;

#[failfast("inventory", 60, call_timeout = "3s")]
fn stock() -> Result<u32, failfast::Open> {
    Ok(1)
}

fn main() {}
