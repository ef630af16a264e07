use failfast::failfast;

fn make_cached() -> fn(failfast::Error<anyhow::Error>) -> anyhow::Result<u32> {
    |_| Ok(0)
}

#[failfast("inventory", 60, fallback = make_cached())]
fn stock() -> anyhow::Result<u32> {
    Ok(1)
}

fn main() {
    let _ = stock();
}
