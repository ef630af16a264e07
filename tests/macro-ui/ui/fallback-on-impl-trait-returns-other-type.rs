// A function returning `impl Display` whose fallback returns another concrete type: one error,
// at the body, naming the fallback's type as the one expected.
use std::fmt::Display;

use failfast::{Error, failfast};

fn stale(_: Error<std::convert::Infallible>) -> String {
    "stale".to_owned()
}

#[failfast("labels", 60, fallback = stale)]
fn label() -> impl Display {
    1_u32
}

fn main() {
    let _ = label();
}
