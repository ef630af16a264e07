use failfast::failfast;

#[failfast("inventory")]
fn stock() -> anyhow::Result<u32> {
    Ok(1)
}

fn main() {
    let _ = stock();
}
