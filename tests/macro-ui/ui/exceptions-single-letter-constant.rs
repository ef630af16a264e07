// A one-letter constant (`const A`) in `exceptions` is taken for an error type (one capital
// letter is a type, as a generic `E`): rustc's E0747 "constant provided when a type was
// expected", and the macro's error, whose note says how to write a variant, a constant, or a
// comparison through `when`. (Review 12; the second error is rustc's own.)
use failfast::failfast;

const A: i32 = 1;

#[failfast("ui_single_letter_constant", 60, exceptions = [A], fallback = |_| Ok(0))]
fn read(errno: i32) -> Result<u8, i32> {
    Err(errno)
}

fn main() {}
