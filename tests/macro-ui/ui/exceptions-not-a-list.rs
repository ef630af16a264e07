use failfast::failfast;

#[derive(Debug)]
enum ApiError {
    Timeout,
}

impl From<failfast::Open> for ApiError {
    fn from(_: failfast::Open) -> Self {
        ApiError::Timeout
    }
}

#[failfast("inventory", 60, exceptions = ApiError::Timeout)]
fn stock() -> Result<u32, ApiError> {
    Ok(1)
}

fn main() {
    let _ = stock();
}
