//! What watching a breaker costs its calls: an admitted call in a closed circuit and a refused
//! call in an open one, through a breaker with no listener, with a listener of transitions
//! alone, with one of successes alone (what the breaker pays to call a listener on each call,
//! and nothing more), with `observe::Tracing` and with `observe::Metrics`; each of the last two
//! with nothing to hear it (no subscriber, no recorder) and with something (a subscriber at
//! `INFO`, which turns off the `DEBUG` and `TRACE` events of refusals; a Prometheus recorder).
//!
//! `cargo bench -p benches --bench observe`

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use failfast::{Breaker, observe};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusRecorder};
use tracing::Dispatch;

#[path = "calls.rs"]
mod calls;
use calls::{Contender, HOUR, fail};

/// What hears the events of a breaker's listener.
enum Audience {
    Nobody,
    /// A `tracing` subscriber, for this thread.
    Subscriber(Dispatch),
    /// A `metrics` recorder, for this thread.
    Recorder(PrometheusRecorder),
}

impl Audience {
    fn subscriber_at_info() -> Audience {
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_writer(std::io::sink)
            .finish();
        Audience::Subscriber(Dispatch::new(subscriber))
    }

    fn prometheus() -> Audience {
        Audience::Recorder(PrometheusBuilder::new().build_recorder())
    }

    /// Runs `f` with the audience in place.
    fn hearing<T>(&self, f: impl FnOnce() -> T) -> T {
        match self {
            Audience::Nobody => f(),
            Audience::Subscriber(dispatch) => tracing::dispatcher::with_default(dispatch, f),
            Audience::Recorder(recorder) => metrics::with_local_recorder(recorder, f),
        }
    }
}

/// The breakers measured, each with its audience; those of `observe` without one first, so
/// that no subscriber has been seen yet when they run.
fn breakers() -> Vec<(&'static str, Breaker, Audience)> {
    let with = |listener: fn(failfast::Builder) -> failfast::Builder| {
        listener(Breaker::builder("bench").open_for(HOUR))
            .build()
            .unwrap()
    };
    vec![
        ("no listener", with(|b| b), Audience::Nobody),
        (
            "a listener of transitions",
            with(|b| {
                b.on_transition(|t| {
                    black_box(t);
                })
            }),
            Audience::Nobody,
        ),
        (
            "Tracing, no subscriber",
            with(|b| b.listener(observe::Tracing::new())),
            Audience::Nobody,
        ),
        (
            "Metrics, no recorder",
            with(|b| b.listener(observe::Metrics::new())),
            Audience::Nobody,
        ),
        (
            "Tracing, subscriber at INFO",
            with(|b| b.listener(observe::Tracing::new())),
            Audience::subscriber_at_info(),
        ),
        (
            "Metrics, Prometheus recorder",
            with(|b| b.listener(observe::Metrics::new())),
            Audience::prometheus(),
        ),
        // Last, so that adding it moved none of the others in memory: put second, it shifted
        // the figures after it by up to half a nanosecond, with the library unchanged.
        (
            "a listener of successes",
            with(|b| {
                b.on_success(|name| {
                    black_box(name);
                })
            }),
            Audience::Nobody,
        ),
    ]
}

fn group(c: &mut Criterion, name: &str, open: bool) {
    let mut group = c.benchmark_group(name);
    for (label, breaker, audience) in breakers() {
        audience.hearing(|| {
            if open {
                let _ = breaker.call(fail);
            }
            let contender: &dyn Contender = &breaker;
            assert_eq!(contender.call(), !open, "{label}");
            group.bench_function(label, |b| b.iter(|| black_box(contender.call())));
        });
    }
    group.finish();
}

fn benches(c: &mut Criterion) {
    group(c, "closed, observed", false);
    group(c, "rejected, observed", true);
}

criterion_group! {
    name = observe;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = benches
}
criterion_main!(observe);
