use failfast::failfast;

#[failfast("inventory", 60)]
const fn stock() -> Result<u32, ()> {
    Ok(1)
}

fn main() {
    let _ = stock();
}
