use failfast::failfast;

#[failfast("", 60)]
fn stock() -> anyhow::Result<u32> {
    Ok(1)
}

fn main() {
    let _ = stock();
}
