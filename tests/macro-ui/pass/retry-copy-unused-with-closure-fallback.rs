// With `retry` and a closure fallback, an argument only the fallback reads raises no
// `unused_variables` (the body's per-attempt copy of it is unused), even under
// `deny(warnings)`.
#![deny(warnings)]

use failfast::failfast;

#[derive(Debug)]
enum ApiError {
    Down,
    Open,
}

impl From<failfast::Open> for ApiError {
    fn from(_: failfast::Open) -> Self {
        ApiError::Open
    }
}

fn cached(sku: &str) -> Result<u32, ApiError> {
    Ok(sku.len() as u32)
}

#[failfast("pass_retry_unused_copy", 3600, retry(attempts = 2, wait = fixed("0ms")), fallback = |_| cached(sku))]
fn price(sku: &str) -> Result<u32, ApiError> {
    Err(ApiError::Down)
}

fn main() {
    assert_eq!(price("pen").unwrap(), 3);
    let _ = ApiError::Open;
}
