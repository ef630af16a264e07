//! failfast against its peers, in one run: an admitted successful call in a closed circuit, a
//! refused call in an open one, and both again with two threads calling one breaker at once.
//!
//! `cargo bench -p benches --bench breaker`
//!
//! In the two-thread groups each reported time is wall time divided by the calls of both
//! threads: the cost of one call in aggregate. One thread's time divided by it is the scaling.

use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use failsafe::CircuitBreaker as _;

#[path = "calls.rs"]
mod calls;
use calls::{Contender, HOUR, fail, work};

struct Direct;
impl Contender for Direct {
    #[inline]
    fn call(&self) -> bool {
        black_box(work()).is_ok()
    }
}

impl Contender for recloser::Recloser {
    #[inline]
    fn call(&self) -> bool {
        recloser::Recloser::call(self, work).is_ok()
    }
}

struct Failsafe<B>(B);
impl<B: failsafe::CircuitBreaker + Sync> Contender for Failsafe<B> {
    #[inline]
    fn call(&self) -> bool {
        self.0.call(work).is_ok()
    }
}

fn closed() -> Vec<(&'static str, Box<dyn Contender>)> {
    vec![
        ("direct call", Box::new(Direct)),
        ("failfast", Box::new(failfast::Breaker::new("bench", HOUR))),
        ("recloser", Box::new(recloser::Recloser::default())),
        (
            "failsafe",
            Box::new(Failsafe(failsafe::Config::new().build())),
        ),
    ]
}

fn open() -> Vec<(&'static str, Box<dyn Contender>)> {
    let failfast = failfast::Breaker::new("bench", HOUR);
    let _ = failfast.call(fail);
    let recloser = recloser::Recloser::custom()
        .closed_len(1)
        .open_wait(HOUR)
        .build();
    // recloser counts a full ring of calls before it judges: two failures with a ring of one.
    let _ = recloser.call(fail);
    let _ = recloser.call(fail);
    let policy =
        failsafe::failure_policy::consecutive_failures(1, failsafe::backoff::constant(HOUR));
    let failsafe = failsafe::Config::new().failure_policy(policy).build();
    let _ = failsafe.call(fail);
    // A name made at run time (per host, say) is shared by reference count, which a refusal
    // counts: the literal case above pays nothing for its name.
    let failfast_string_name = failfast::Breaker::new(format!("bench-{}", 1), HOUR);
    let _ = failfast_string_name.call(fail);
    let contenders: Vec<(&'static str, Box<dyn Contender>)> = vec![
        ("failfast", Box::new(failfast)),
        ("failfast, String name", Box::new(failfast_string_name)),
        ("recloser", Box::new(recloser)),
        ("failsafe", Box::new(Failsafe(failsafe))),
    ];
    for (name, contender) in &contenders {
        assert!(!contender.call(), "{name} should refuse calls once open");
    }
    contenders
}

/// Calls `contender` `iters` times on each of `threads` threads started together; returns the
/// wall time divided by the number of threads, so criterion reports the aggregate cost per call.
fn on_threads(contender: &dyn Contender, threads: u32, iters: u64) -> Duration {
    let barrier = Barrier::new(threads as usize + 1);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                barrier.wait();
                for _ in 0..iters {
                    black_box(contender.call());
                }
            });
        }
        barrier.wait();
        let start = Instant::now();
        // The scope joins the threads before it returns.
        start
    })
    .elapsed()
        / threads
}

fn group(
    c: &mut Criterion,
    name: &str,
    contenders: Vec<(&'static str, Box<dyn Contender>)>,
    threads: u32,
) {
    let mut group = c.benchmark_group(name);
    for (label, contender) in &contenders {
        if threads == 1 {
            group.bench_function(*label, |b| b.iter(|| black_box(contender.call())));
        } else {
            group.bench_function(*label, |b| {
                b.iter_custom(|iters| on_threads(contender.as_ref(), threads, iters))
            });
        }
    }
    group.finish();
}

fn benches(c: &mut Criterion) {
    group(c, "closed", closed(), 1);
    group(c, "rejected", open(), 1);
    group(c, "closed, 2 threads", closed(), 2);
    group(c, "rejected, 2 threads", open(), 2);
}

criterion_group! {
    name = breaker;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = benches
}
criterion_main!(breaker);
