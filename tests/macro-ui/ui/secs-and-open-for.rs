use failfast::failfast;

#[failfast("inventory", 60, open_for = std::time::Duration::from_secs(5))]
fn stock() -> anyhow::Result<u32> {
    Ok(1)
}

fn main() {
    let _ = stock();
}
