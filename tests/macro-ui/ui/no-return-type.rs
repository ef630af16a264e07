use failfast::failfast;

#[failfast("inventory", 60)]
fn restock() {}

fn main() {
    restock();
}
