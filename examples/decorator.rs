//! The `#[failfast]` attribute: the Python decorator, in Rust.
//!
//! A sales API answers some requests with 404 (the invoice does not exist: nothing wrong with
//! the API) and then starts timing out. Only timeouts and 5xx answers count against the circuit;
//! once it opens, the function answers from a cache without calling the API.
//!
//! `cargo run -p examples --example decorator`

use std::sync::atomic::{AtomicU32, Ordering};

use failfast::failfast;

#[derive(Debug, thiserror::Error)]
enum ApiError {
    #[error("timed out")]
    Timeout,
    #[error("HTTP {0}")]
    Status(u16),
    #[error(transparent)]
    Open(#[from] failfast::Open),
}

/// How many requests reached the API.
static CALLS: AtomicU32 = AtomicU32::new(0);

/// The API: invoice 404 does not exist; from the fourth call on, every request times out.
fn fetch(invoice: u32) -> Result<String, ApiError> {
    let call = CALLS.fetch_add(1, Ordering::SeqCst) + 1;
    match (call, invoice) {
        (4.., _) => Err(ApiError::Timeout),
        (_, 404) => Err(ApiError::Status(404)),
        _ => Ok(format!("invoice #{invoice}: 120.00 EUR")),
    }
}

/// Answers while the circuit is open, or when a counted failure happens.
fn from_cache(error: failfast::Error<ApiError>) -> Result<String, ApiError> {
    Ok(format!("(from cache, because: {error})"))
}

#[failfast(
    "sales_api",
    60,
    exceptions = [ApiError::Timeout, ApiError::Status(code) if *code >= 500],
    threshold = 2,
    fallback = from_cache
)]
fn get_invoice(invoice: u32) -> Result<String, ApiError> {
    fetch(invoice)
}

fn main() {
    for invoice in [1, 404, 2, 3, 5, 6, 7] {
        match get_invoice(invoice) {
            Ok(text) => println!("get_invoice({invoice:>3}) = {text}"),
            Err(error) => println!("get_invoice({invoice:>3}) failed: {error}"),
        }
    }
    println!(
        "\n7 requests, {} of them reached the API: two timeouts in a row opened the circuit.",
        CALLS.load(Ordering::SeqCst)
    );
}
