// A type in `exceptions` that is not an error type: one error at the entry, naming the type
// and `std::error::Error`.
use failfast::failfast;

#[failfast("inventory", 60, exceptions = [String])]
fn stock() -> anyhow::Result<u32> {
    Ok(1)
}

fn main() {
    let _ = stock();
}
