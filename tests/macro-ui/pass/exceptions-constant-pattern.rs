// Constants in `exceptions` (`libc::EAGAIN`, `ECONNRESET`: names in capitals) are patterns, not
// error types, matched against the error as `==` would.
use failfast::failfast;

mod libc {
    pub const EAGAIN: i32 = 11;
}
const ECONNRESET: i32 = 104;

#[failfast("pass_constant_pattern", 3600, exceptions = [libc::EAGAIN, ECONNRESET], fallback = |_| Ok(0))]
fn read(errno: i32) -> Result<u8, i32> {
    Err(errno)
}

fn main() {
    assert_eq!(read(2), Err(2), "not listed: returned as is");
    assert_eq!(read(libc::EAGAIN), Ok(0), "listed: counted, the fallback answers");
}
