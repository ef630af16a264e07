//! What `#[failfast]` costs over calling `Breaker::call` by hand: nothing measurable.
//!
//! `cargo bench -p benches --bench macro_overhead`

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use failfast::{Breaker, Error, Open, failfast};

fn work() -> Result<u64, Open> {
    Ok(black_box(1))
}

#[failfast("bench_macro_closed", 3600)]
fn guarded() -> Result<u64, Open> {
    work()
}

#[failfast("bench_macro_open", 3600)]
fn guarded_open() -> Result<u64, Open> {
    work()
}

/// An error type as users write one: their own failures, and a variant that takes the refusal.
#[derive(Debug)]
enum ApiError {
    #[allow(dead_code)] // never made: the calls here succeed
    Status(u16),
    #[allow(dead_code)]
    Open(Open),
}

impl From<Open> for ApiError {
    fn from(open: Open) -> Self {
        ApiError::Open(open)
    }
}

fn api_work() -> Result<u64, ApiError> {
    Ok(black_box(1))
}

/// A small error: what `breaker.call` returns fastest.
fn small_work() -> Result<u64, u16> {
    Ok(black_box(1))
}

#[failfast("bench_macro_api", 3600)]
#[inline]
fn guarded_api() -> Result<u64, ApiError> {
    api_work()
}

#[failfast("bench_macro_api_retry", 3600, retry = 3)]
#[inline]
fn guarded_api_retry() -> Result<u64, ApiError> {
    api_work()
}

/// The same, left out of line: the cost of a call to a function returning its `Result` through
/// memory comes on top, as it would for a function written by hand.
#[failfast("bench_macro_api_out_of_line", 3600)]
#[inline(never)]
fn guarded_api_out_of_line() -> Result<u64, ApiError> {
    api_work()
}

/// What the macro saves writing: the call, with the rejection turned into the function's error.
fn by_hand(breaker: &Breaker) -> Result<u64, Open> {
    match breaker.call(work) {
        Ok(value) => Ok(value),
        Err(Error::Inner(error)) => Err(error),
        Err(Error::Open(open)) => Err(open),
    }
}

fn benches(c: &mut Criterion) {
    let hour = Duration::from_secs(3600);
    let mut closed = c.benchmark_group("closed");
    closed.bench_function("direct call", |b| b.iter(|| black_box(work())));
    let breaker = Breaker::new("bench_by_hand", hour);
    closed.bench_function("breaker.call by hand", |b| {
        b.iter(|| black_box(by_hand(&breaker)))
    });
    closed.bench_function("#[failfast] fn", |b| b.iter(|| black_box(guarded())));
    closed.finish();

    // The error of a `#[failfast]` function carries the refusal, so it is larger than a small
    // error. The answer is taken as a caller matching on it would, and `black_box` gets a
    // `u64`: a whole `Result`, or an `Option<u64>`, handed to `black_box` is stored and read
    // back through memory in pieces of different sizes, which stalls the processor for longer
    // than the call takes.
    let mut small = c.benchmark_group("closed, answer taken");
    let small_breaker = Breaker::new("bench_small_error", hour);
    small.bench_function("breaker.call, small error", |b| {
        b.iter(|| black_box(small_breaker.call(small_work).unwrap_or(0)))
    });
    small.bench_function(
        "#[failfast] #[inline] fn, error with an Open variant",
        |b| b.iter(|| black_box(guarded_api().unwrap_or(0))),
    );
    small.bench_function(
        "#[failfast(retry = 3)] #[inline] fn, error with an Open variant",
        |b| b.iter(|| black_box(guarded_api_retry().unwrap_or(0))),
    );
    small.bench_function(
        "#[failfast] #[inline(never)] fn, error with an Open variant",
        |b| b.iter(|| black_box(guarded_api_out_of_line().unwrap_or(0))),
    );
    small.finish();

    let mut open = c.benchmark_group("rejected");
    breaker.force_open(hour);
    open.bench_function("breaker.call by hand", |b| {
        b.iter(|| black_box(by_hand(&breaker)))
    });
    let _ = guarded_open();
    failfast::Registry::global()
        .get("bench_macro_open")
        .expect("made by the first call")
        .force_open(hour);
    assert!(guarded_open().is_err());
    open.bench_function("#[failfast] fn", |b| b.iter(|| black_box(guarded_open())));
    open.finish();
}

criterion_group! {
    name = macro_overhead;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = benches
}
criterion_main!(macro_overhead);
