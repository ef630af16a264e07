// An error type in `exceptions` is looked for in a `Box<dyn Error + Send>` as in the other
// erased errors, and inside an `io::Error` that wraps one.
use failfast::failfast;

type Boxed = Box<dyn std::error::Error + Send>;

#[derive(Debug, thiserror::Error)]
#[error("timed out")]
struct TimeoutError;

#[failfast("pass_box_dyn_error_send", 3600, exceptions = [TimeoutError], fallback = |_| Ok(0))]
fn stock(error: Boxed) -> Result<u32, Boxed> {
    Err(error)
}

fn main() {
    assert_eq!(stock(Box::new(std::io::Error::other("other"))).unwrap_err().to_string(), "other");
    let wrapped = std::io::Error::new(std::io::ErrorKind::TimedOut, TimeoutError);
    assert_eq!(stock(Box::new(wrapped)).unwrap(), 0, "counted: the fallback answered");
}
