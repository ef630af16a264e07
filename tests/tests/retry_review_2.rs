//! Retries, their hooks and the macro under attack, a second time (an adversarial review).
//! Tests whose comment starts "Once" are regressions of the bugs it found; the rest pin
//! attacks that held up, and what was decided.
#![deny(unused_braces)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use failfast::retry::{Attempt, Retry, RetryBudget, Wait};
use failfast::{
    Breaker, Circuit, Error, ManualClock, MemoryStore, Name, ProbeClaim, Store, TripPolicy,
    failfast,
};
use tests::retry::{breaker, sleeping_on, tokio_breaker, waits};

const SEC: Duration = Duration::from_secs(1);
const ZERO: Duration = Duration::ZERO;

/// A store whose fleet-wide probe token is always held by another process, and which counts
/// how often it was asked for it (with Redis, each ask is a round trip).
#[derive(Debug, Default)]
struct TokenHeldElsewhere {
    store: MemoryStore,
    claims: AtomicU32,
}

impl Store for TokenHeldElsewhere {
    fn circuit(&self, name: &Name, create: &dyn Fn() -> Arc<Circuit>) -> Arc<Circuit> {
        self.store.circuit(name, create)
    }
    fn claim_probe(&self, _: &Circuit, _: ProbeClaim) -> bool {
        self.claims.fetch_add(1, Ordering::SeqCst);
        false
    }
}

// Once, schedule.rs:93-94 — with `wait_for_circuit`, a refusal that says "retry now" (a store
// whose probe token is held elsewhere) was retried after the policy's wait, charged against the
// bound; with a zero wait nothing was charged, so the retries spun back to back, every attempt
// refused and every one a probe claim on the store: 100 000 of them for `attempts(100_000)`
// with an unlimited budget, 101 with the default one, in no time at all.
#[test]
fn a_refusal_that_says_retry_now_is_not_retried_back_to_back() {
    let clock = ManualClock::new();
    let store = Arc::new(TokenHeldElsewhere::default());
    let breaker = Breaker::builder("rv2_refused_spin")
        .clock(clock.clone())
        .trip(TripPolicy::consecutive_failures(1))
        .open_for(SEC)
        .store(store.clone())
        .build()
        .unwrap();
    let _ = breaker.call(|| Err::<(), _>("down"));
    clock.advance(SEC); // half-open, but another process holds the probe token
    for budget in [RetryBudget::default(), RetryBudget::unlimited()] {
        let (retry, made) = sleeping_on(
            &clock,
            Retry::builder()
                .attempts(100_000)
                .wait(Wait::fixed(ZERO))
                .wait_for_circuit(10 * SEC)
                .budget(budget),
        );
        let claims = store.claims.load(Ordering::SeqCst);
        let error = retry.call(&breaker, || Ok::<_, &str>(())).unwrap_err();
        assert!(error.as_open().is_some());
        assert_eq!(
            (
                error.attempts(),
                store.claims.load(Ordering::SeqCst) - claims
            ),
            (1, 1),
            "{budget:?}: refused attempts retried back to back (waits {:?})",
            waits(&made).len()
        );
    }
}

#[derive(Debug, PartialEq, thiserror::Error)]
enum ApiError {
    #[error(transparent)]
    Open(#[from] failfast::Open),
}

// Once, expand.rs:114-118 — a sync function's body was put in its closure as a block inside the
// closure's own, `{ { body } }`: a body of one expression on one line (`{ Ok(1) }`) drew an
// `unused_braces` warning at the user's braces, suggesting to remove the function's braces,
// and failed builds with `-D warnings`; with or without `retry`. (This file denies the lint.)
#[rustfmt::skip]
#[failfast("rv2_one_line", 60, threshold = 10, retry(attempts = 2, wait = fixed("0s")))]
fn one_line() -> Result<u32, ApiError> { Ok(1) }

#[rustfmt::skip]
#[failfast("rv2_one_line_plain", 60)]
fn one_line_plain(id: u32) -> Result<u32, ApiError> { Ok(id) }

#[test]
fn a_one_line_body_draws_no_warning() {
    assert_eq!(one_line(), Ok(1));
    assert_eq!(one_line_plain(2), Ok(2));
}

// Documented (Attempt::next_in), when.rs — the after-attempt hook is told the wait before
// the next attempt (`next_in: Some(..)`), and the call then gives up without it when the wait
// ended past the time limits (a thread that slept a little long; tokio's timer, which rounds
// every sleep up to the next millisecond, with a deadline). Calling the hook again would hear
// an attempt twice; the caller learns why from the error.
#[test]
fn a_wait_that_ends_past_the_time_limit_ends_the_call_with_time_limit() {
    let (breaker, clock) = breaker("rv2_hook_overslept", 100, SEC);
    let retry = Retry::builder()
        .attempts(5)
        .max_elapsed(SEC)
        .wait(Wait::fixed(SEC))
        .sleep_with({
            let clock = clock.clone();
            move |wait| clock.advance(wait + Duration::from_nanos(1)) // slept a little long
        })
        .build()
        .unwrap();
    let heard = Mutex::new(Vec::new());
    let error = retry
        .when(|_: &&str| true)
        .after_attempt(|a: &Attempt<'_, (), &str>| heard.lock().unwrap().push(a.next_in))
        .call(&breaker, || Err::<(), _>("down"))
        .unwrap_err();
    assert_eq!(*heard.lock().unwrap(), [Some(SEC)]);
    assert_eq!(error.attempts(), 1);
    assert_eq!(error.stop_reason(), failfast::retry::StopReason::TimeLimit);
}

// Once, budget.rs — the budget's share of calls is the breaker's count of calls, which a
// disabled breaker does not keep: with the breaker switched off, its retries were held to
// `per_second` (10 a second by default) however busy it was, so switching a breaker off made
// more calls fail. Decided: a disabled breaker keeps out of the way, and limits no retries.
#[test]
fn a_disabled_breaker_limits_no_retries() {
    let (breaker, clock) = breaker("rv2_disabled_budget", 1_000_000, SEC);
    let (retry, _) = sleeping_on(&clock, Retry::builder().attempts(2).wait(Wait::fixed(ZERO)));
    let mut answered = Vec::new();
    for enabled in [true, false] {
        breaker.set_enabled(enabled);
        clock.advance(100 * SEC);
        let mut retried = 0;
        for _ in 0..1000 {
            let mut calls = 0;
            let answer = retry.call(&breaker, || {
                calls += 1;
                if calls == 1 { Err("blip") } else { Ok(()) }
            });
            retried += u32::from(answer.is_ok());
            for _ in 0..3 {
                let _ = breaker.call(|| Ok::<_, ()>(())); // the rest of the traffic
            }
        }
        answered.push(retried);
    }
    assert!(
        answered[0] < 1000,
        "switched on, the budget holds: {answered:?}"
    );
    assert_eq!(
        answered[1], 1000,
        "switched off, nothing is refused: {answered:?}"
    );
}

// Held: concurrent retried calls through one breaker, tripping and refusing under each other.
// Every attempt that ran is counted once, every refused one is a rejection, and no probe permit
// is kept: when the open period ends, the next call is let through.
#[test]
fn concurrent_retries_through_one_breaker_count_every_attempt_once() {
    let (breaker, clock) = breaker("rv2_concurrent", 3, SEC);
    let (retry, _) = sleeping_on(
        &clock,
        Retry::builder()
            .attempts(4)
            .wait(Wait::fixed(ZERO))
            .budget(RetryBudget::unlimited()),
    );
    let ran = AtomicU32::new(0);
    let refused = AtomicU32::new(0);
    let hooks_before = AtomicU32::new(0);
    let hooks_after = AtomicU32::new(0);
    std::thread::scope(|scope| {
        for thread in 0..8u32 {
            let (breaker, retry, clock) = (&breaker, &retry, &clock);
            let (ran, refused) = (&ran, &refused);
            let (hooks_before, hooks_after) = (&hooks_before, &hooks_after);
            scope.spawn(move || {
                for call in 0..200u32 {
                    if call % 50 == 0 {
                        clock.advance(SEC); // let the circuit probe again now and then
                    }
                    let _ = retry
                        .when(|_: &&str| true)
                        .before_attempt(|_, _: &Name| {
                            hooks_before.fetch_add(1, Ordering::SeqCst);
                        })
                        .after_attempt(|a: &Attempt<'_, u32, &str>| {
                            hooks_after.fetch_add(1, Ordering::SeqCst);
                            if matches!(a.outcome, Err(Error::Open(_))) {
                                refused.fetch_add(1, Ordering::SeqCst);
                            }
                        })
                        .call(breaker, || {
                            let n = ran.fetch_add(1, Ordering::SeqCst);
                            if (n + thread) % 3 == 0 {
                                Ok(n)
                            } else {
                                Err("flaky")
                            }
                        });
                }
            });
        }
    });
    let stats = breaker.stats();
    let (ran, refused) = (ran.into_inner(), refused.into_inner());
    assert_eq!(
        (stats.calls, stats.rejected),
        (u64::from(ran), u64::from(refused))
    );
    assert_eq!(hooks_before.into_inner(), hooks_after.into_inner());
    clock.advance(60 * SEC);
    assert!(
        breaker.call(|| Ok::<_, ()>(())).is_ok(),
        "no probe permit kept"
    );
}

// Held: hooks that panic. A before-hook panics before its attempt asks the breaker anything;
// an after-hook after its attempt was counted. Either way the half-open probe is not kept.
#[tokio::test(start_paused = true)]
async fn panicking_hooks_neither_keep_the_probe_nor_miscount() {
    use futures::FutureExt;
    let breaker = tokio_breaker("rv2_hook_panics", 1, SEC);
    let _ = breaker.call(|| Err::<(), _>("down"));
    tokio::time::sleep(SEC).await;
    let retry = Retry::builder()
        .attempts(3)
        .wait(Wait::fixed(ZERO))
        .build()
        .unwrap();
    let unwound = std::panic::AssertUnwindSafe(
        retry
            .when(|_: &&str| true)
            .after_attempt(|_: &Attempt<'_, (), &str>| panic!("after"))
            .run(&breaker, || async { Err::<(), _>("down") }),
    )
    .catch_unwind()
    .await;
    assert!(unwound.is_err());
    assert!(breaker.state().is_open(), "the probe's failure counted");
    assert_eq!(breaker.stats().failures, 2);
    let breaker = tokio_breaker("rv2_hook_panics_before", 10, SEC);
    let unwound = std::panic::AssertUnwindSafe(
        retry
            .when(|_: &&str| true)
            .before_attempt(|n, _: &Name| assert!(n < 2, "before"))
            .run(&breaker, || async { Err::<(), _>("down") }),
    )
    .catch_unwind()
    .await;
    assert!(unwound.is_err(), "the second attempt's hook panicked");
    let stats = breaker.stats();
    assert_eq!(
        (stats.calls, stats.failures),
        (1, 1),
        "the first attempt only"
    );
}
