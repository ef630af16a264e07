use failfast::failfast;

#[derive(Debug)]
enum ApiError {
    Status(u16),
    Open(failfast::Open),
}

impl From<failfast::Open> for ApiError {
    fn from(open: failfast::Open) -> Self {
        ApiError::Open(open)
    }
}

// An after-attempt hook takes `&Attempt<T, E>`, not the error.
fn log_error(error: &ApiError) {
    eprintln!("{error:?}");
}

#[failfast("hooks", 30, retry(attempts = 3, after = log_error))]
fn fetch() -> Result<u32, ApiError> {
    Err(ApiError::Status(503))
}

fn main() {
    let _ = fetch();
}
