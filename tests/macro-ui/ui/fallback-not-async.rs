use failfast::failfast;

fn zero(_: failfast::Error<anyhow::Error>) -> anyhow::Result<u32> {
    Ok(0)
}

#[failfast("inventory", 60, fallback = zero)]
async fn stock() -> anyhow::Result<u32> {
    Ok(1)
}

fn main() {
    let _ = stock();
}
