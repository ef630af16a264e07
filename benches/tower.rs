//! The tower layer's cost: a bare `service_fn`, the same behind failfast's `FailFastLayer`, and
//! behind tower-resilience's circuit breaker, closed and refused.
//!
//! Each iteration is one `poll_ready`, one `call` and one poll of the response future, with a
//! no-op waker: the inner service answers at once, so the figures are the middleware's own.

use std::convert::Infallible;
use std::future::{Future, Ready, ready};
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use failfast::Breaker;
use failfast::service::FailFastLayer;
use tower::{Layer, Service, service_fn};
use tower_resilience_circuitbreaker::CircuitBreakerLayer;

/// An open period no benchmark outlives.
const HOUR: Duration = Duration::from_secs(3600);

/// The inner service: answers at once.
fn bare()
-> impl Service<u64, Response = u64, Error = Infallible, Future = Ready<Result<u64, Infallible>>> + Clone
{
    service_fn(|n: u64| ready(Ok::<u64, Infallible>(n + 1)))
}

/// One call through `service`: ready, call, poll until the answer; whether it succeeded.
#[inline(always)]
fn one_call<S: Service<u64>>(service: &mut S, cx: &mut Context<'_>) -> bool {
    loop {
        if let Poll::Ready(ready) = service.poll_ready(cx) {
            if ready.is_err() {
                return false;
            }
            break;
        }
    }
    let mut future = pin!(service.call(black_box(1)));
    loop {
        if let Poll::Ready(answer) = future.as_mut().poll(cx) {
            return answer.is_ok();
        }
    }
}

fn tower_layer(c: &mut Criterion) {
    let mut cx = Context::from_waker(Waker::noop());
    let mut group = c.benchmark_group("tower");

    let mut service = bare();
    group.bench_function("bare service_fn", |b| {
        b.iter(|| one_call(&mut service, &mut cx))
    });

    let breaker = Breaker::new("tower_bench", HOUR);
    // For reference: the floor of a response future that must own its way to the breaker.
    group.bench_function("reference: breaker clone and drop", |b| {
        b.iter(|| drop(black_box(breaker.clone())))
    });
    let mut service = FailFastLayer::new(breaker.clone()).layer(bare());
    assert!(one_call(&mut service, &mut cx));
    group.bench_function("failfast closed", |b| {
        b.iter(|| one_call(&mut service, &mut cx))
    });
    let refused = Breaker::new("tower_bench_refused", HOUR);
    refused.force_open(HOUR);
    let mut service = FailFastLayer::new(refused).layer(bare());
    assert!(!one_call(&mut service, &mut cx));
    group.bench_function("failfast refused", |b| {
        b.iter(|| one_call(&mut service, &mut cx))
    });

    let layer = CircuitBreakerLayer::builder()
        .wait_duration_in_open(HOUR)
        .build()
        .expect("valid settings");
    let mut service = layer.layer(bare());
    assert!(one_call(&mut service, &mut cx));
    group.bench_function("tower-resilience closed", |b| {
        b.iter(|| one_call(&mut service, &mut cx))
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut service = layer.layer(bare());
    runtime.block_on(service.force_open());
    assert!(!one_call(&mut service, &mut cx));
    group.bench_function("tower-resilience refused", |b| {
        b.iter(|| one_call(&mut service, &mut cx))
    });
    group.finish();
}

criterion_group! {
    name = tower;
    config = Criterion::default();
    targets = tower_layer
}
criterion_main!(tower);
