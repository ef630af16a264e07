//! Code the macro writes raises no lint in the user's crate: a crate that denies warnings
//! compiles every shape of guarded function.
#![deny(warnings)]

use failfast::failfast;

#[derive(Debug, PartialEq)]
enum ApiError {
    Open,
}

impl From<failfast::Open> for ApiError {
    fn from(_: failfast::Open) -> Self {
        ApiError::Open
    }
}

#[failfast("lints_single_expression", 30)]
fn single_expression() -> Result<u32, ApiError> {
    Ok(1)
}

#[failfast("lints_retried_single_expression", 30, retry = 2)]
fn retried_single_expression() -> Result<u32, ApiError> {
    Ok(2)
}

fn cached(_: failfast::Error<ApiError>) -> Result<u32, ApiError> {
    Ok(0)
}

#[failfast("lints_fallback_single_expression", 30, fallback = cached)]
fn fallback_single_expression() -> Result<u32, ApiError> {
    Ok(3)
}

#[failfast("lints_async_single_expression", 30)]
async fn async_single_expression() -> Result<u32, ApiError> {
    Ok(4)
}

#[test]
fn single_expression_bodies_compile_without_warnings() {
    assert_eq!(single_expression(), Ok(1));
    assert_eq!(retried_single_expression(), Ok(2));
    assert_eq!(fallback_single_expression(), Ok(3));
    let answer = futures::executor::block_on(async_single_expression());
    assert_eq!(answer, Ok(4));
}

// Written on one line, as the docs' examples are.
#[rustfmt::skip]
#[failfast("lints_one_line", 30)]
fn one_line() -> Result<u32, ApiError> { Ok(5) }

#[rustfmt::skip]
#[failfast("lints_one_line_retried", 30, retry = 2)]
fn one_line_retried() -> Result<u32, ApiError> { Ok(6) }

#[test]
fn one_line_bodies_compile_without_warnings() {
    assert_eq!(one_line(), Ok(5));
    assert_eq!(one_line_retried(), Ok(6));
}

#[rustfmt::skip]
#[failfast("lints_one_line_async", 30)]
async fn one_line_async() -> Result<u32, ApiError> { Ok(7) }

#[rustfmt::skip]
#[failfast("lints_one_line_fallback", 30, fallback = cached)]
fn one_line_fallback() -> Result<u32, ApiError> { Ok(8) }

fn zero(_: failfast::Error<std::convert::Infallible>) -> u32 {
    0
}

#[rustfmt::skip]
#[failfast("lints_one_line_total", 30, fallback = zero)]
fn one_line_total() -> u32 { 9 }

struct Client;

impl Client {
    #[rustfmt::skip]
    #[failfast("lints_one_line_method", 30, retry = 2)]
    fn one_line_method(&self, n: u32) -> Result<u32, ApiError> { Ok(n) }
}

#[test]
fn one_line_bodies_of_every_shape_compile_without_warnings() {
    assert_eq!(futures::executor::block_on(one_line_async()), Ok(7));
    assert_eq!(one_line_fallback(), Ok(8));
    assert_eq!(one_line_total(), 9);
    assert_eq!(Client.one_line_method(10), Ok(10));
}
