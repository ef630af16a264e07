// A generic fallback, `fn zero_of<R: Default>(_) -> R`, serves many functions: its types are
// learnt from the function it answers for, sync or async.
use std::convert::Infallible;

use failfast::{Error, failfast};

fn zero_of<R: Default>(_: Error<Infallible>) -> R {
    R::default()
}

async fn zero_of_async<R: Default>(_: Error<Infallible>) -> R {
    R::default()
}

#[failfast("pass_generic_fallback", 3600, fallback = zero_of)]
fn count() -> u32 {
    1
}

#[failfast("pass_generic_fallback_async", 3600, fallback = zero_of_async)]
async fn count_async() -> u32 {
    1
}

#[failfast("pass_generic_fallback_generic", 3600, fallback = zero_of)]
fn make<R: Default>(make: impl FnOnce() -> R) -> R {
    make()
}

fn main() {
    assert_eq!(count(), 1);
    assert_eq!(make(|| 2_u8), 2);
    let _ = count_async();
}
