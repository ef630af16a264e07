use failfast::failfast;

fn zero(_: u8) -> anyhow::Result<u32> {
    Ok(0)
}

#[failfast("inventory", 60, fallback = zero)]
fn stock() -> anyhow::Result<u32> {
    Ok(1)
}

fn main() {
    let _ = stock();
}
