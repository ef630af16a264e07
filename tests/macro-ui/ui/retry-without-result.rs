use failfast::failfast;

fn zero(_: failfast::Error<std::convert::Infallible>) -> u32 {
    0
}

#[failfast("inventory", 60, fallback = zero, retry = 3)]
fn stock() -> u32 {
    1
}

fn main() {}
