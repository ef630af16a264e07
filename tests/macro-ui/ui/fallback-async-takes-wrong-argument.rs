use failfast::failfast;

async fn cached(_: anyhow::Error) -> anyhow::Result<u32> {
    Ok(0)
}

#[failfast("inventory", 60, fallback = cached)]
async fn stock() -> anyhow::Result<u32> {
    Ok(1)
}

fn main() {
    let _ = stock();
}
