// Review 12 (fixed: each constant case is matched through the reference): constants in an or-pattern (`exceptions = [libc::EAGAIN | libc::EINTR]`, the
// natural way to list errno values as one entry, and how `ApiError::A | ApiError::B` is
// written) do not compile: "expected `&i32`, found `i32`", with rustc's help pointing at
// `&*#[failfast(...)]`. `counts::entry` puts `&` before a constant only when the whole entry is
// one path in capitals; inside an `|` (or a guard) the constants are matched through the
// reference, which match ergonomics do not do for constants. Fix: match `*__failfast_error`
// (or `&*`) for entries that are not plain variants: `match *__failfast_error { EAGAIN |
// EINTR => true, .. }` binds nothing by value for such entries; or put the `&` before each
// capitals path inside an or-pattern (`&EAGAIN | &EINTR`).
use failfast::failfast;

mod libc {
    pub const EAGAIN: i32 = 11;
    pub const EINTR: i32 = 4;
}

#[failfast("pass_or_pattern_constants", 3600, exceptions = [libc::EAGAIN | libc::EINTR], fallback = |_| Ok(0))]
fn read(errno: i32) -> Result<u8, i32> {
    Err(errno)
}

fn main() {
    assert_eq!(read(2), Err(2), "not listed: returned as is");
    assert_eq!(read(libc::EINTR), Ok(0), "listed: counted, the fallback answers");
}
