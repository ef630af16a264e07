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
