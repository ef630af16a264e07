//! What HTTP services get: failures told by status, and `503 Service Unavailable` with
//! `Retry-After` when the circuit is open.

use http::{HeaderValue, Response, StatusCode, header};

use super::classify::{Classify, Outcome};
use super::on_open::OnOpen;
use crate::error::Open;

/// Counts HTTP responses by status, with a predicate that says which statuses are failures
/// (default [`server_error_or_429`]). Errors always count. A response with another status is a
/// success: the server answered, whatever it said.
///
/// ```
/// use failfast::service::{Classify, HttpStatus, Outcome};
/// use http::{Response, StatusCode};
///
/// let classify = HttpStatus::default();
/// let answer = |status: u16| -> Result<Response<()>, std::io::Error> {
///     Ok(Response::builder().status(status).body(()).unwrap())
/// };
/// assert_eq!(classify.classify(&answer(503)), Outcome::Failure);
/// assert_eq!(classify.classify(&answer(429)), Outcome::Failure);
/// assert_eq!(classify.classify(&answer(404)), Outcome::Success);
///
/// let only_502_and_503 = HttpStatus::new(|s: StatusCode| s == 502 || s == 503);
/// assert_eq!(only_502_and_503.classify(&answer(500)), Outcome::Success);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct HttpStatus<F = fn(StatusCode) -> bool> {
    is_failure: F,
}

/// The default failure statuses: every 5xx, and 429 Too Many Requests.
pub fn server_error_or_429(status: StatusCode) -> bool {
    status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS
}

impl<F: Fn(StatusCode) -> bool> HttpStatus<F> {
    /// Counts the statuses for which `is_failure` is true as failures.
    pub fn new(is_failure: F) -> Self {
        HttpStatus { is_failure }
    }
}

impl Default for HttpStatus {
    fn default() -> Self {
        HttpStatus::new(server_error_or_429)
    }
}

impl<B, Error, F> Classify<Response<B>, Error> for HttpStatus<F>
where
    F: Fn(StatusCode) -> bool,
{
    #[inline(always)]
    fn classify(&self, result: &Result<Response<B>, Error>) -> Outcome {
        match result {
            Ok(response) if (self.is_failure)(response.status()) => Outcome::Failure,
            Ok(_) => Outcome::Success,
            Err(_) => Outcome::Failure,
        }
    }
}

/// While the circuit is open, answers `503 Service Unavailable` with a `Retry-After` header
/// (whole seconds, rounded up) and an empty body; the service's own errors pass through as
/// they are. This is what lets the layer sit in an axum router, whose services may not fail.
#[derive(Debug, Clone, Copy, Default)]
pub struct Unavailable;

impl<B: Default, Error> OnOpen<Response<B>, Error> for Unavailable {
    type Error = Error;

    fn refused(&self, open: Open) -> Result<Response<B>, Error> {
        let mut response = Response::new(B::default());
        *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, retry_after(&open));
        Ok(response)
    }

    #[inline(always)]
    fn failed(&self, error: Error) -> Error {
        error
    }
}

/// While the circuit is open, answers with the response the closure makes from the refusal;
/// the service's own errors pass through as they are.
///
/// ```
/// use failfast::service::{FallbackResponse, OnOpen};
/// use http::Response;
///
/// let fallback = FallbackResponse::new(|open: &failfast::Open| {
///     Response::new(format!("cached answer ({open})"))
/// });
/// # let breaker = failfast::Breaker::new("prices", std::time::Duration::from_secs(9));
/// # breaker.force_open(std::time::Duration::from_secs(9));
/// # let open = breaker.try_acquire().unwrap_err();
/// let answer: Result<Response<String>, std::io::Error> = fallback.refused(open);
/// assert!(answer.unwrap().body().starts_with("cached answer"));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct FallbackResponse<F> {
    make: F,
}

impl<F> FallbackResponse<F> {
    /// Answers with `make(&open)` while the circuit is open.
    pub fn new(make: F) -> Self {
        FallbackResponse { make }
    }
}

impl<F, B, Error> OnOpen<Response<B>, Error> for FallbackResponse<F>
where
    F: Fn(&Open) -> Response<B>,
{
    type Error = Error;

    fn refused(&self, open: Open) -> Result<Response<B>, Error> {
        Ok((self.make)(&open))
    }

    #[inline(always)]
    fn failed(&self, error: Error) -> Error {
        error
    }
}

/// The `Retry-After` header of a refusal.
fn retry_after(open: &Open) -> HeaderValue {
    HeaderValue::from(open.retry_after_secs())
}
