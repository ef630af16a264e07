use failfast::failfast;

#[failfast("inventory", 60, exceptions = [_], when = |_: &anyhow::Error| true)]
fn stock() -> anyhow::Result<u32> {
    Ok(1)
}

fn main() {
    let _ = stock();
}
