// The function's own error type in `exceptions` (here a unit struct, `Busy`) counts every
// error, whether or not it is a `std::error::Error`.
use failfast::failfast;

#[derive(Debug, PartialEq)]
struct Busy;

#[failfast("pass_unit_struct_pattern", 3600, exceptions = [Busy], fallback = |_| Ok(0))]
fn take() -> Result<u8, Busy> {
    Err(Busy)
}

fn main() {
    assert_eq!(take(), Ok(0));
}
