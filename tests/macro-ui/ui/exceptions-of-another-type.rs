use failfast::failfast;

#[derive(Debug, thiserror::Error)]
enum ApiError {
    #[error("timed out")]
    Timeout,
    #[error(transparent)]
    Open(#[from] failfast::Open),
}

#[derive(Debug)]
enum DbError {
    Down,
}

#[failfast("inventory", 60, exceptions = [ApiError::Timeout, DbError::Down])]
fn stock() -> Result<u32, ApiError> {
    Ok(1)
}

fn main() {
    let _ = stock();
    let _ = DbError::Down;
}
