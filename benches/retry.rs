//! What a retry policy costs a call that succeeds at once, over the breaker alone.
//!
//! Each call's answer is taken as a caller matching on it would, and `black_box` gets a `u64`:
//! a whole `Result` (or an `Option<u64>`) handed to `black_box` is stored and read back through
//! memory in pieces of different sizes, which stalls the processor for longer than the call
//! takes, and would measure that rather than the call.
//!
//! `cargo bench -p benches --bench retry`

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use failfast::Breaker;
use failfast::retry::Retry;

/// A call that succeeds, with a small error type.
fn work() -> Result<u64, u32> {
    Ok(black_box(1))
}

/// Polls `future` until it is ready, with a waker that does nothing: every future here is
/// ready at once.
#[inline(always)]
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

fn benches(c: &mut Criterion) {
    let breaker = Breaker::new("bench_retry", Duration::from_secs(3600));
    let retry = Retry::builder()
        .attempts(3)
        .build()
        .expect("valid settings");

    let mut sync = c.benchmark_group("succeeds at once, sync");
    sync.bench_function("breaker.call", |b| {
        b.iter(|| black_box(breaker.call(work).unwrap_or(0)))
    });
    sync.bench_function("retry.call", |b| {
        b.iter(|| black_box(retry.call(&breaker, work).unwrap_or(0)))
    });
    sync.finish();

    let mut run = c.benchmark_group("succeeds at once, async");
    run.bench_function("breaker.run", |b| {
        b.iter(|| black_box(ready(breaker.run(async { work() })).unwrap_or(0)))
    });
    run.bench_function("retry.run", |b| {
        b.iter(|| black_box(ready(retry.run(&breaker, || async { work() })).unwrap_or(0)))
    });
    run.finish();
}

criterion_group!(retry, benches);
criterion_main!(retry);
