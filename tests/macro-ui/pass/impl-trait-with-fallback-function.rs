// A function returning `impl Display` takes a fallback function of the same concrete type.
use std::convert::Infallible;
use std::fmt::Display;

use failfast::{Error, failfast};

fn stale(_: Error<Infallible>) -> String {
    "stale".to_owned()
}

#[failfast("pass_impl_display_total", 3600, fallback = stale)]
fn label() -> impl Display {
    "fresh".to_owned()
}

fn main() {
    assert_eq!(label().to_string(), "fresh");
}
