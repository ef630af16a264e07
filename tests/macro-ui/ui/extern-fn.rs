use failfast::failfast;

#[failfast("inventory", 60)]
extern "C" fn stock() -> Result<u32, ()> {
    Ok(1)
}

fn main() {
    let _ = stock();
}
