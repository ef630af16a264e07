// `exceptions` on a function whose return type, under a name the macro cannot read, is not a
// `Result`: one error, at the return type.
use failfast::{Error, failfast};

#[derive(Debug, thiserror::Error)]
enum ApiError {
    #[error("timed out")]
    Timeout,
}

struct Reply(u32);

fn stale(_: Error<std::convert::Infallible>) -> Reply {
    Reply(0)
}

#[failfast("inventory", 60, exceptions = [ApiError::Timeout], fallback = stale)]
fn stock() -> Reply {
    Reply(1)
}

fn main() {
    let _ = stock().0;
    let _ = ApiError::Timeout;
}
