use failfast::failfast;

#[failfast("inventory", 60)]
struct Stock;

fn main() {}
