use failfast::failfast;

#[failfast("inventory", 1e-12)]
fn stock() -> anyhow::Result<u32> {
    Ok(1)
}

fn main() {
    let _ = stock();
}
