use failfast::failfast;

#[derive(Debug, thiserror::Error)]
enum ApiError {
    #[error("down")]
    Down,
    #[error(transparent)]
    Open(#[from] failfast::Open),
}

#[failfast("inventory", 60, call_timeout = "2s")]
async fn stock() -> Result<u32, ApiError> {
    Err(ApiError::Down)
}

fn main() {
    let _ = stock();
}
