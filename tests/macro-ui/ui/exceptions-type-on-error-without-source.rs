use failfast::failfast;

#[derive(Debug)]
enum ApiError {
    Timeout,
    Open(failfast::Open),
}

impl From<failfast::Open> for ApiError {
    fn from(open: failfast::Open) -> Self {
        ApiError::Open(open)
    }
}

#[failfast("inventory", 60, exceptions = [std::io::Error])]
fn stock() -> Result<u32, ApiError> {
    Err(ApiError::Timeout)
}

fn main() {
    let _ = stock();
}
