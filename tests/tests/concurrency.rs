//! Claims that only hold if they hold under contention: many threads, released together.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};

use failfast::{Breaker, Phase, TripPolicy, Window};
use tests::{SEC, fail, manual, ok};

const THREADS: usize = 16;

/// Runs `work` on `THREADS` threads released together by a barrier, and joins them.
fn together<T: Send>(work: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let barrier = Barrier::new(THREADS);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|i| {
                let barrier = &barrier;
                let work = &work;
                scope.spawn(move || {
                    barrier.wait();
                    work(i)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

#[test]
fn half_open_admits_exactly_the_configured_number_of_probes() {
    for probes in [1, 3, 7] {
        let (builder, clock) = manual("probes_race");
        let breaker = builder.open_for(SEC).probes(probes).build().unwrap();
        let _ = breaker.call(fail);
        clock.advance(SEC);

        // Every thread tries once and holds what it got until all have tried.
        let holding = Barrier::new(THREADS);
        let admitted = together(|_| {
            let permit = breaker.try_acquire();
            holding.wait();
            permit.is_ok()
        });
        let admitted = admitted.into_iter().filter(|&a| a).count();
        assert_eq!(admitted, probes as usize);
        assert_eq!(breaker.stats().rejected, (THREADS - probes as usize) as u64);
    }
}

#[test]
fn many_failures_at_once_make_exactly_one_transition() {
    for policy in [
        TripPolicy::consecutive_failures(1),
        TripPolicy::consecutive_failures(4),
        TripPolicy::failure_rate(0.5, Window::LastCalls(8)).min_calls(4),
    ] {
        let transitions = Arc::new(Mutex::new(Vec::new()));
        let (builder, _clock) = manual("one_transition");
        let breaker = builder
            .open_for(60 * SEC)
            .trip(policy.clone())
            .on_transition({
                let transitions = transitions.clone();
                move |t| transitions.lock().unwrap().push((t.from, t.to))
            })
            .build()
            .unwrap();
        // Every thread is admitted before any fails, so all failures race to open the circuit.
        let admitted = Barrier::new(THREADS);
        together(|_| {
            let permit = breaker.try_acquire().unwrap();
            admitted.wait();
            permit.failure();
        });
        assert_eq!(
            *transitions.lock().unwrap(),
            [(Phase::Closed, Phase::Open)],
            "{policy:?}"
        );
        assert_eq!(breaker.stats().transitions, 1);
    }
}

#[test]
fn no_count_is_lost() {
    const CALLS: usize = 20_000;
    let breaker = Breaker::builder("counts")
        .trip(TripPolicy::consecutive_failures(u32::MAX))
        .build()
        .unwrap();
    let ran = AtomicUsize::new(0);
    together(|i| {
        for n in 0..CALLS {
            let call = if (i + n) % 3 == 0 { fail } else { ok };
            let _ = breaker.call(|| {
                ran.fetch_add(1, Ordering::Relaxed);
                call()
            });
        }
    });
    let stats = breaker.stats();
    let total = (THREADS * CALLS) as u64;
    assert_eq!(stats.calls, total);
    assert_eq!(stats.calls, ran.load(Ordering::Relaxed) as u64);
    let failures = (0..THREADS)
        .map(|i| (0..CALLS).filter(|n| (i + n) % 3 == 0).count())
        .sum::<usize>() as u64;
    assert_eq!(stats.failures, failures);
    assert_eq!(stats.successes, total - failures);
}

#[test]
fn counts_survive_threads_that_come_and_go() {
    let breaker = Breaker::new("short_lived_threads", SEC);
    for _ in 0..4 {
        together(|_| breaker.call(ok).unwrap());
    }
    assert_eq!(breaker.stats().successes, 4 * THREADS as u64);
}

#[test]
fn rejections_are_all_counted_under_contention() {
    let breaker = Breaker::new("rejections", 60 * SEC);
    breaker.force_open(60 * SEC);
    together(|_| {
        for _ in 0..1000 {
            assert!(breaker.call(ok).unwrap_err().is_open());
        }
    });
    assert_eq!(breaker.stats().rejected, THREADS as u64 * 1000);
}

/// A connection pool kept per thread whose destructor calls through a breaker, as pools that
/// close their connections politely do.
struct Pool(Breaker);

impl Drop for Pool {
    fn drop(&mut self) {
        let _ = self.0.call(ok);
        let _ = self.0.call(fail);
        let _ = self.0.call(ok); // refused: the failure opened the circuit
    }
}

thread_local! {
    static POOL: std::cell::RefCell<Option<Pool>> = const { std::cell::RefCell::new(None) };
}

#[test]
fn calls_from_thread_local_destructors_are_counted() {
    // The pool's destructor may run before or after the breaker's own thread-locals are gone:
    // that depends on which was first used on the thread.
    for breaker_first in [true, false] {
        let breaker = Breaker::new("closing_pool", 60 * SEC);
        std::thread::scope(|scope| {
            let thread = scope.spawn(|| {
                if breaker_first {
                    breaker.call(ok).unwrap();
                }
                POOL.with(|pool| *pool.borrow_mut() = Some(Pool(breaker.clone())));
                if !breaker_first {
                    breaker.call(ok).unwrap();
                }
            });
            // Joined by hand: a scope's own join does not wait for thread-locals' destructors.
            thread.join().unwrap();
        });
        let stats = breaker.stats();
        assert_eq!(
            (stats.successes, stats.failures, stats.rejected),
            (2, 1, 1),
            "breaker first: {breaker_first}"
        );
    }
}
