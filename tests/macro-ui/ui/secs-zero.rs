use failfast::failfast;

#[failfast("inventory", 0)]
fn stock() -> anyhow::Result<u32> {
    Ok(1)
}

fn main() {
    let _ = stock();
}
