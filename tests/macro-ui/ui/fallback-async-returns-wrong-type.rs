use failfast::failfast;

async fn cached(_: failfast::Error<anyhow::Error>) -> Option<u32> {
    None
}

#[failfast("inventory", 60, fallback = cached)]
async fn stock() -> anyhow::Result<u32> {
    Ok(1)
}

fn main() {
    let _ = stock();
}
