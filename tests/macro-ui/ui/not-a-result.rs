use failfast::failfast;

#[failfast("inventory", 60)]
fn stock() -> u32 {
    1
}

fn main() {
    let _ = stock();
}
