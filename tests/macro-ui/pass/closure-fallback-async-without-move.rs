// A closure fallback of an async function written without `move` (its arguments are
// references, copied into the body) compiles.
use failfast::failfast;

fn cached(sku: &str) -> anyhow::Result<u32> {
    Ok(sku.len() as u32)
}

#[failfast("inventory", 60, fallback = |_| async { cached(sku) })]
async fn stock(sku: &str) -> anyhow::Result<u32> {
    Ok(sku.len() as u32)
}

fn main() {
    let _ = stock("pen");
}
