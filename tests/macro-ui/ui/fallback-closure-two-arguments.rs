use failfast::failfast;

#[failfast("inventory", 60, fallback = |_, id| Ok(id))]
fn stock(id: u32) -> anyhow::Result<u32> {
    Ok(id)
}

fn main() {
    let _ = stock(1);
}
