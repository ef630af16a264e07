use failfast::failfast;

fn cached(_: &str) -> anyhow::Result<u32> {
    Ok(0)
}

// The body takes `sku` by value: the fallback cannot see it after.
#[failfast("inventory", 60, fallback = |_| cached(&sku))]
fn stock(sku: String) -> anyhow::Result<u32> {
    let owned: String = sku;
    Ok(owned.len() as u32)
}

fn main() {
    let _ = stock(String::new());
}
