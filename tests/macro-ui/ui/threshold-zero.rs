use failfast::failfast;

#[failfast("inventory", 60, threshold = 0)]
fn stock() -> anyhow::Result<u32> {
    Ok(1)
}

fn main() {
    let _ = stock();
}
