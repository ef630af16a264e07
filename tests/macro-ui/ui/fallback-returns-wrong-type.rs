use failfast::failfast;

fn cached(_: failfast::Error<anyhow::Error>) -> u32 {
    0
}

#[failfast("inventory", 60, fallback = cached)]
fn stock() -> anyhow::Result<u32> {
    Ok(1)
}

fn main() {
    let _ = stock();
}
