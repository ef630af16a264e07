// A function under a name the macro cannot read (not a `Result`) whose fallback takes the error
// type of a fallible one: one error at the path, naming the signature it must have.
use failfast::{Error, failfast};

struct Reply(u32);

fn stale(_: Error<anyhow::Error>) -> Reply {
    Reply(0)
}

#[failfast("inventory", 60, fallback = stale)]
fn stock() -> Reply {
    Reply(1)
}

fn main() {
    let _ = stock().0;
}
