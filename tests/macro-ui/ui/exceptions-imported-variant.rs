use failfast::failfast;

#[derive(Debug, thiserror::Error)]
enum ApiError {
    #[error("timed out")]
    Timeout,
    #[error(transparent)]
    Open(#[from] failfast::Open),
}

use ApiError::Timeout;

#[failfast("inventory", 60, exceptions = [Timeout])]
fn stock() -> Result<u32, ApiError> {
    Err(Timeout)
}

fn main() {
    let _ = stock();
}
