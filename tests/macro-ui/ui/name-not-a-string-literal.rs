use failfast::failfast;

const NAME: &str = "inventory";

#[failfast(NAME, 60)]
fn stock() -> anyhow::Result<u32> {
    Ok(1)
}

fn main() {
    let _ = stock();
}
