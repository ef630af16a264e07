//! What gRPC services get: failures told by `grpc-status`, and an `UNAVAILABLE` answer when the
//! circuit is open.
//!
//! gRPC answers a failed call with HTTP 200. The status code comes in the `grpc-status` header
//! of a "trailers-only" answer (a call that failed before any message, which is how servers
//! refuse, shed load or fail a unary call), or in the trailers at the end of the body. A
//! classifier sees the response, not its body: it reads the header, and counts an answer whose
//! status comes only in the trailers as a success.

use http::{HeaderValue, Response, StatusCode, header};

use super::classify::{Classify, Outcome};
use super::http::server_error_or_429;
use super::on_open::OnOpen;
use crate::error::Open;

/// The gRPC status codes that say a server is in trouble, as 5xx and 429 do for HTTP:
/// `UNKNOWN` (2), `DEADLINE_EXCEEDED` (4), `RESOURCE_EXHAUSTED` (8), `INTERNAL` (13),
/// `UNAVAILABLE` (14) and `DATA_LOSS` (15). The others (`NOT_FOUND`, `INVALID_ARGUMENT`,
/// `PERMISSION_DENIED`, ...) are answers about the request.
pub fn grpc_server_error(code: i32) -> bool {
    matches!(code, 2 | 4 | 8 | 13 | 14 | 15)
}

/// Counts gRPC answers by the code in their `grpc-status` header, with a predicate that says
/// which codes are failures (default [`grpc_server_error`]). Errors (the channel could not
/// connect, say) always count, and so does an HTTP status that [`server_error_or_429`] calls
/// a failure (a proxy's 503). An answer without `grpc-status` in its headers is a success.
///
/// ```
/// use failfast::service::{Classify, GrpcStatus, Outcome};
/// use http::Response;
///
/// let answer = |code: &str| -> Result<Response<()>, std::io::Error> {
///     Ok(Response::builder().header("grpc-status", code).body(()).unwrap())
/// };
/// let classify = GrpcStatus::default();
/// assert_eq!(classify.classify(&answer("14")), Outcome::Failure); // UNAVAILABLE
/// assert_eq!(classify.classify(&answer("5")), Outcome::Success); // NOT_FOUND
///
/// let only_unavailable = GrpcStatus::new(|code| code == 14);
/// assert_eq!(only_unavailable.classify(&answer("13")), Outcome::Success);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct GrpcStatus<F = fn(i32) -> bool> {
    is_failure: F,
}

impl<F: Fn(i32) -> bool> GrpcStatus<F> {
    /// Counts the codes for which `is_failure` is true as failures. With tonic, compare
    /// `tonic::Code::from_i32(code)` with the codes you mean.
    pub fn new(is_failure: F) -> Self {
        GrpcStatus { is_failure }
    }
}

impl Default for GrpcStatus {
    fn default() -> Self {
        GrpcStatus::new(grpc_server_error)
    }
}

impl<B, Error, F> Classify<Response<B>, Error> for GrpcStatus<F>
where
    F: Fn(i32) -> bool,
{
    #[inline(always)]
    fn classify(&self, result: &Result<Response<B>, Error>) -> Outcome {
        let Ok(response) = result else {
            return Outcome::Failure;
        };
        if server_error_or_429(response.status()) {
            return Outcome::Failure;
        }
        match response.headers().get("grpc-status").map(code) {
            Some(Some(code)) if (self.is_failure)(code) => Outcome::Failure,
            _ => Outcome::Success,
        }
    }
}

/// The code in a `grpc-status` header, if it is one.
fn code(value: &HeaderValue) -> Option<i32> {
    value.to_str().ok()?.parse().ok()
}

/// While the circuit is open, answers the way a gRPC server refuses a call: a trailers-only
/// answer with `grpc-status: 14` (`UNAVAILABLE`), the refusal as its `grpc-message`, and
/// `grpc-retry-pushback-ms` saying when to retry, which gRPC clients with a retry policy
/// honour. A tonic client receives it as a `Status` with code `Unavailable`, whether the layer
/// guards its channel or the server it calls. The response body must implement `Default`
/// (tonic's does). The service's own errors pass through as they are.
#[derive(Debug, Clone, Copy, Default)]
pub struct GrpcUnavailable;

impl<B: Default, Error> OnOpen<Response<B>, Error> for GrpcUnavailable {
    type Error = Error;

    fn refused(&self, open: Open) -> Result<Response<B>, Error> {
        let mut response = Response::new(B::default());
        *response.status_mut() = StatusCode::OK;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/grpc"),
        );
        headers.insert("grpc-status", HeaderValue::from_static("14"));
        if let Ok(message) = HeaderValue::from_str(&percent_encoded(&open.to_string())) {
            headers.insert("grpc-message", message);
        }
        let pushback = u64::try_from(open.retry_in().as_millis()).unwrap_or(u64::MAX);
        headers.insert("grpc-retry-pushback-ms", HeaderValue::from(pushback));
        Ok(response)
    }

    #[inline(always)]
    fn failed(&self, error: Error) -> Error {
        error
    }
}

/// `text` as a `grpc-message` carries it: bytes outside printable ASCII, and `%`, written as
/// `%XX`.
fn percent_encoded(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for &byte in text.as_bytes() {
        if (b' '..=b'~').contains(&byte) && byte != b'%' {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grpc_message_percent_encodes_what_is_not_printable_ascii() {
        assert_eq!(percent_encoded("open; retry in 2s"), "open; retry in 2s");
        assert_eq!(percent_encoded("100% é\n"), "100%25 %C3%A9%0A");
    }

    #[test]
    fn a_grpc_status_that_is_not_a_number_is_a_success() {
        let answer: Result<Response<()>, ()> = Ok(Response::builder()
            .header("grpc-status", "fourteen")
            .body(())
            .unwrap());
        assert_eq!(GrpcStatus::default().classify(&answer), Outcome::Success);
        let proxy_down: Result<Response<()>, ()> =
            Ok(Response::builder().status(503).body(()).unwrap());
        assert_eq!(
            GrpcStatus::default().classify(&proxy_down),
            Outcome::Failure
        );
    }
}
