use failfast::failfast;

#[failfast("inventory", 60, secs = 30)]
fn stock() -> anyhow::Result<u32> {
    Ok(1)
}

fn main() {
    let _ = stock();
}
