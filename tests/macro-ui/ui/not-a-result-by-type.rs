use failfast::failfast;

struct Stock(u32);

#[failfast("inventory", 60)]
fn stock() -> Stock {
    Stock(1)
}

fn main() {
    let _ = stock().0;
}
