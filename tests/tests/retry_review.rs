//! Retries and call time-outs under attack (an adversarial review). Tests whose comment starts
//! "Once" are regressions of the bugs it found; the rest pin the attacks that held up.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use failfast::retry::{Jitter, Retry, RetryBudget, Wait};
use failfast::{
    Breaker, Circuit, Clock, Error, ManualClock, MemoryStore, Name, ProbeClaim, Store, TimedOut,
    TripPolicy, failfast,
};
use futures::FutureExt;
use tests::retry::{breaker, sleeping_on, tokio_breaker, waits};

const SEC: Duration = Duration::from_secs(1);
const ZERO: Duration = Duration::ZERO;

#[derive(Debug, PartialEq)]
enum Slow {
    TimedOut(TimedOut),
    Down,
}

impl From<TimedOut> for Slow {
    fn from(timed_out: TimedOut) -> Self {
        Slow::TimedOut(timed_out)
    }
}

// ---------------------------------------------------------------------------------------------
// The retry budget
// ---------------------------------------------------------------------------------------------

// Once, budget.rs:66-68 — an unlimited policy returns before recording its retries, so another
// policy on the same breaker counts them as first attempts: "retries are counted per breaker,
// whichever policies make them" does not hold, and the limited policy gets a budget made of
// the unlimited one's retries.
#[test]
fn retries_of_an_unlimited_policy_count_against_the_breaker_s_budget() {
    let (breaker, clock) = breaker("rv_budget_shared", 1_000_000, SEC);
    let (limited, _) = sleeping_on(
        &clock,
        Retry::builder()
            .attempts(100)
            .wait(Wait::fixed(ZERO))
            .budget(RetryBudget::new(0.5, 0)),
    );
    let (unlimited, _) = sleeping_on(
        &clock,
        Retry::builder()
            .attempts(21)
            .wait(Wait::fixed(ZERO))
            .budget(RetryBudget::unlimited()),
    );
    let _ = limited.call(&breaker, || Err::<(), _>("down")); // 1 first attempt
    let _ = unlimited.call(&breaker, || Err::<(), _>("down")); // 1 first attempt, 20 retries
    let error = limited.call(&breaker, || Err::<(), _>("down")).unwrap_err();
    // Three first attempts in the window: at most 1.5 retries.
    assert!(
        error.attempts() <= 3,
        "the unlimited policy's 20 retries were taken for first attempts: {} attempts",
        error.attempts()
    );
}

#[test]
fn budget_settings_out_of_range_are_config_errors_and_extremes_do_not_panic() {
    for ratio in [f64::NAN, -0.1, f64::NEG_INFINITY] {
        let error = Retry::builder()
            .budget(RetryBudget::new(ratio, 1))
            .build()
            .unwrap_err();
        assert_eq!(error.setting(), "budget ratio");
    }
    let (breaker, clock) = breaker("rv_budget_extremes", 1_000_000, SEC);
    for budget in [
        RetryBudget::new(f64::INFINITY, 0),
        RetryBudget::new(f64::MAX, u32::MAX),
        RetryBudget::new(0.0, u32::MAX),
        RetryBudget::new(0.0, 0),
    ] {
        let (retry, _) = sleeping_on(
            &clock,
            Retry::builder()
                .attempts(3)
                .wait(Wait::fixed(ZERO))
                .budget(budget),
        );
        let error = retry.call(&breaker, || Err::<(), _>("down")).unwrap_err();
        let expected = if budget == RetryBudget::new(0.0, 0) {
            1
        } else {
            3
        };
        assert_eq!(error.attempts(), expected, "{budget:?}");
    }
}

#[test]
fn a_clock_set_backwards_or_to_its_end_does_not_upset_the_budget() {
    let (breaker, clock) = breaker("rv_budget_backwards", 1_000_000, SEC);
    let builder = Retry::builder()
        .attempts(3)
        .wait(Wait::fixed(ZERO))
        .budget(RetryBudget::new(0.0, 1));
    let retry = builder
        .sleep_with({
            let clock = clock.clone();
            move |_| clock.set(clock.now().saturating_sub(7 * SEC))
        })
        .build()
        .unwrap();
    clock.set(1000 * SEC);
    for _ in 0..50 {
        let _ = retry.call(&breaker, || Err::<(), _>("down"));
    }
    clock.set(Duration::from_nanos(i64::MAX as u64));
    let _ = retry.call(&breaker, || Err::<(), _>("down"));
    clock.set(Duration::MAX);
    let _ = retry.call(&breaker, || Err::<(), _>("down"));
}

// ---------------------------------------------------------------------------------------------
// The circuit and the schedule
// ---------------------------------------------------------------------------------------------

/// A store whose fleet-wide probe token is held by another process: it refuses every probe.
#[derive(Debug, Default)]
struct TokenHeldElsewhere(MemoryStore);

impl Store for TokenHeldElsewhere {
    fn circuit(&self, name: &Name, create: &dyn Fn() -> Arc<Circuit>) -> Arc<Circuit> {
        self.0.circuit(name, create)
    }
    fn claim_probe(&self, _: &Circuit, _: ProbeClaim) -> bool {
        false
    }
}

// Once, schedule.rs:80-86 (with breaker.rs:417) — a refusal whose `retry_in` is zero (a store
// that refuses the probe: `refuse(self.now())`) passes `retry_in > circuit_wait_left` with a
// bound of zero, so retrying goes on against a refusing circuit, waiting the policy's waits
// between refused attempts, instead of stopping at once; and with `wait_for_circuit` it never
// uses up the bound.
#[test]
fn a_refusal_that_says_retry_now_still_stops_the_retrying() {
    let clock = ManualClock::new();
    let breaker = Breaker::builder("rv_refused_now")
        .clock(clock.clone())
        .trip(TripPolicy::consecutive_failures(1))
        .open_for(SEC)
        .store(TokenHeldElsewhere::default())
        .build()
        .unwrap();
    let _ = breaker.call(|| Err::<(), _>("down"));
    clock.advance(SEC); // half-open, but another process holds the probe token
    let (retry, made) = sleeping_on(&clock, Retry::builder().attempts(5).wait(Wait::fixed(SEC)));
    let error = retry.call(&breaker, || Ok::<_, &str>(())).unwrap_err();
    assert!(error.as_open().is_some());
    assert_eq!(
        (error.attempts(), waits(&made)),
        (1, vec![]),
        "refused: no attempt after it, and no wait"
    );
}

// Once, when.rs:260-263 — after an error the circuit's *state* is read to decide whether it
// refuses, but a disabled breaker lets every call through whatever its state: retries through
// a disabled breaker whose circuit is open stop after the first attempt.
#[test]
fn a_disabled_breaker_does_not_stop_the_retrying() {
    let (breaker, clock) = breaker("rv_disabled", 1, 60 * SEC);
    breaker.force_open(60 * SEC);
    breaker.set_enabled(false);
    let (retry, _) = sleeping_on(&clock, Retry::builder().attempts(3).wait(Wait::fixed(ZERO)));
    let mut calls = 0;
    let answer = retry.call(&breaker, || {
        calls += 1;
        if calls < 3 { Err("down") } else { Ok(calls) }
    });
    assert_eq!(
        answer.map_err(|e| e.attempts()),
        Ok(3),
        "the breaker is switched off: it refuses nothing"
    );
}

#[test]
fn waiting_for_a_probe_slot_held_by_another_caller_is_bounded() {
    let clock = ManualClock::new();
    let breaker = Breaker::builder("rv_probe_held")
        .clock(clock.clone())
        .trip(TripPolicy::consecutive_failures(1))
        .open_for(SEC)
        .probe_timeout(3 * SEC)
        .build()
        .unwrap();
    let _ = breaker.call(|| Err::<(), _>("down"));
    clock.advance(SEC);
    let held = breaker.try_acquire().expect("the probe");
    let (retry, made) = sleeping_on(
        &clock,
        Retry::builder()
            .attempts(u32::MAX)
            .wait(Wait::fixed(ZERO))
            .budget(RetryBudget::unlimited())
            .wait_for_circuit(2 * SEC),
    );
    let error = retry.call(&breaker, || Ok::<_, &str>(())).unwrap_err();
    assert_eq!(error.attempts(), 1, "the slot is held 3 s, past the bound");
    assert!(waits(&made).is_empty());
    let (patient, made) = sleeping_on(
        &clock,
        Retry::builder()
            .attempts(u32::MAX)
            .wait(Wait::fixed(ZERO))
            .budget(RetryBudget::unlimited())
            .wait_for_circuit(3 * SEC),
    );
    assert!(patient.call(&breaker, || Ok::<_, &str>(())).is_ok());
    assert_eq!(waits(&made), [3 * SEC], "until the held probe expired");
    drop(held);
}

#[test]
fn zero_waits_and_huge_attempts_end_with_the_budget_or_the_circuit() {
    let (breaker, clock) = breaker("rv_zero_waits", 1_000, SEC);
    let (retry, made) = sleeping_on(
        &clock,
        Retry::builder().attempts(u32::MAX).wait(Wait::fixed(ZERO)),
    );
    let error = retry.call(&breaker, || Err::<(), _>("down")).unwrap_err();
    assert!(error.attempts() <= 101, "{}", error.attempts());
    assert_eq!(waits(&made).len() as u32, error.attempts() - 1);
    let (unlimited, _) = sleeping_on(
        &clock,
        Retry::builder()
            .attempts(u32::MAX)
            .wait(Wait::fixed(ZERO))
            .budget(RetryBudget::unlimited()),
    );
    let error = unlimited
        .call(&breaker, || Err::<(), _>("down"))
        .unwrap_err();
    assert!(breaker.state().is_open(), "the circuit ended it");
    assert!(error.attempts() <= 1_000);
}

#[test]
fn waits_never_overrun_max_elapsed_even_when_enormous() {
    let (breaker, clock) = breaker("rv_huge_waits", 1_000, SEC);
    for wait in [
        Wait::fixed(Duration::MAX),
        Wait::exponential(SEC, Duration::MAX).factor(1e300),
        Wait::exponential(SEC, Duration::MAX).jitter(Jitter::Decorrelated),
        Wait::exponential(Duration::MAX, Duration::MAX).jitter(Jitter::Full),
        Wait::exponential(SEC, Duration::MAX)
            .multiplier(Duration::MAX)
            .jitter(Jitter::Equal),
    ] {
        let (retry, made) = sleeping_on(
            &clock,
            Retry::builder()
                .attempts(50)
                .max_elapsed(10 * SEC)
                .wait(wait.clone()),
        );
        let _ = retry.call(&breaker, || Err::<(), _>("down"));
        assert!(
            waits(&made).iter().sum::<Duration>() <= 10 * SEC,
            "{wait:?}: {:?}",
            waits(&made)
        );
        assert_eq!(wait.nominal(u32::MAX), wait.nominal(u32::MAX - 1));
    }
}

#[test]
fn extreme_waits_neither_panic_nor_exceed_max() {
    let (breaker, clock) = breaker("rv_extreme_waits", u32::MAX, SEC);
    for jitter in [
        Jitter::None,
        Jitter::Full,
        Jitter::Equal,
        Jitter::Decorrelated,
    ] {
        for wait in [
            Wait::exponential(ZERO, Duration::MAX),
            Wait::exponential(Duration::from_nanos(1), Duration::MAX).factor(f64::MAX),
            Wait::fixed(Duration::MAX),
        ] {
            let wait = wait.jitter(jitter);
            let (retry, made) = sleeping_on(
                &clock,
                Retry::builder()
                    .attempts(200)
                    .budget(RetryBudget::unlimited())
                    .wait(wait.clone()),
            );
            let _ = retry.call(&breaker, || Err::<(), _>("down"));
            assert_eq!(waits(&made).len(), 199, "{wait:?}");
            clock.set(ZERO);
        }
    }
    for factor in [f64::NAN, f64::INFINITY, 0.5, -1.0] {
        let error = Retry::builder()
            .wait(Wait::exponential(SEC, 2 * SEC).factor(factor))
            .build()
            .unwrap_err();
        assert_eq!(error.setting(), "wait factor");
    }
}

// Once, wait.rs:135-137 — decorrelated jitter grows from `min` and the previous wait only,
// ignoring the multiplier: with `min = 0` (Tenacity's `wait_random_exponential(multiplier=1)`
// shape) every wait is zero, and the retries hammer the dependency back to back, while the
// same policy without jitter waits 1, 2, 4 s.
#[test]
fn decorrelated_jitter_from_a_zero_minimum_still_backs_off() {
    let (breaker, clock) = breaker("rv_decorrelated_zero", 1_000, SEC);
    let wait = Wait::exponential(ZERO, 60 * SEC).multiplier(SEC);
    let (plain, made) = sleeping_on(&clock, Retry::builder().attempts(4).wait(wait.clone()));
    let _ = plain.call(&breaker, || Err::<(), _>("down"));
    assert_eq!(waits(&made), [SEC, 2 * SEC, 4 * SEC]);
    let (jittered, made) = sleeping_on(
        &clock,
        Retry::builder()
            .attempts(4)
            .wait(wait.jitter(Jitter::Decorrelated)),
    );
    for _ in 0..20 {
        let _ = jittered.call(&breaker, || Err::<(), _>("down"));
    }
    assert!(
        waits(&made).iter().any(|w| !w.is_zero()),
        "60 waits, all zero"
    );
}

#[test]
fn answers_retried_by_when_ok_count_as_successes() {
    let (breaker, clock) = breaker("rv_when_ok", 1, SEC);
    let (retry, _) = sleeping_on(&clock, Retry::builder().attempts(4).wait(Wait::fixed(ZERO)));
    let answer = retry
        .when(|_: &&str| true)
        .when_ok(|v: &u32| *v == 0)
        .call(&breaker, || Ok::<u32, &str>(0));
    assert_eq!(answer.unwrap(), 0);
    let stats = breaker.stats();
    assert_eq!((stats.successes, stats.failures), (4, 0));
}

// ---------------------------------------------------------------------------------------------
// Panics and cancellation
// ---------------------------------------------------------------------------------------------

fn half_open(name: &'static str) -> (Breaker, ManualClock) {
    let (breaker, clock) = breaker(name, 1, SEC);
    let _ = breaker.call(|| Err::<(), _>("down"));
    clock.advance(SEC);
    assert!(breaker.state().is_half_open());
    (breaker, clock)
}

#[test]
fn a_panic_in_when_records_the_probe_as_one_failure() {
    let (breaker, clock) = half_open("rv_when_panics");
    let (retry, _) = sleeping_on(&clock, Retry::builder().attempts(3).wait(Wait::fixed(ZERO)));
    let before = breaker.stats().failures;
    let unwound = catch_unwind(AssertUnwindSafe(|| {
        retry
            .when(|_: &&str| panic!("predicate"))
            .call(&breaker, || Err::<(), _>("down"))
    }));
    assert!(unwound.is_err());
    assert_eq!(breaker.stats().failures - before, 1);
    assert!(breaker.state().is_open(), "the probe failed: not leaked");
}

#[test]
fn a_panic_in_hint_or_when_ok_comes_after_the_outcome_is_recorded() {
    let (breaker, clock) = half_open("rv_hint_panics");
    let (retry, _) = sleeping_on(&clock, Retry::builder().attempts(3).wait(Wait::fixed(ZERO)));
    let unwound = catch_unwind(AssertUnwindSafe(|| {
        retry
            .when(|_: &&str| false)
            .when_ok(|_: &()| panic!("when_ok"))
            .call(&breaker, || Ok::<_, &str>(()))
    }));
    assert!(unwound.is_err());
    assert!(breaker.state().is_closed(), "the probe's success counted");
    let stats = breaker.stats();
    assert_eq!((stats.successes, stats.calls), (1, 2));

    let (breaker, clock) = half_open("rv_hint_panics_2");
    let (retry, _) = sleeping_on(&clock, Retry::builder().attempts(3).wait(Wait::fixed(ZERO)));
    let unwound = catch_unwind(AssertUnwindSafe(|| {
        retry
            .when(|_: &&str| true)
            .hint(|_: &&str| -> Option<Duration> { panic!("hint") })
            .call(&breaker, || Err::<(), _>("down"))
    }));
    assert!(unwound.is_err());
    assert!(
        breaker.state().is_open(),
        "the probe's failure counted once"
    );
    assert_eq!(breaker.stats().failures, 2);
}

#[tokio::test]
async fn a_retried_future_dropped_mid_attempt_gives_the_probe_back() {
    let (breaker, clock) = half_open("rv_drop_mid_attempt");
    let (retry, _) = sleeping_on(&clock, Retry::builder().attempts(3).wait(Wait::fixed(ZERO)));
    {
        let mut retried = Box::pin(retry.run(&breaker, std::future::pending::<Result<(), &str>>));
        assert!(futures::poll!(retried.as_mut()).is_pending());
        assert!(breaker.try_acquire().is_err(), "the probe is out");
    }
    assert!(breaker.try_acquire().is_ok(), "given back");
    assert_eq!(
        breaker.stats().calls,
        1,
        "the cancelled attempt counted nothing"
    );
}

#[tokio::test(start_paused = true)]
async fn a_retried_future_dropped_mid_wait_leaves_the_counts_as_they_were() {
    let breaker = tokio_breaker("rv_drop_mid_wait", 100, SEC);
    let retry = Retry::builder()
        .attempts(3)
        .wait(Wait::fixed(10 * SEC))
        .build()
        .unwrap();
    let cut =
        tokio::time::timeout(SEC, retry.run(&breaker, || async { Err::<(), _>("down") })).await;
    assert!(cut.is_err());
    let stats = breaker.stats();
    assert_eq!((stats.calls, stats.failures), (1, 1));
}

#[tokio::test]
async fn a_panic_inside_a_run_counts_once_and_frees_the_probe() {
    let (breaker, _clock) = half_open("rv_run_panics");
    let unwound = AssertUnwindSafe(breaker.run(async {
        tokio::task::yield_now().await;
        if true {
            panic!("inner");
        }
        Ok::<(), &str>(())
    }))
    .catch_unwind()
    .await;
    assert!(unwound.is_err());
    assert_eq!(breaker.stats().failures, 2);
    assert!(breaker.state().is_open(), "the probe's panic reopened it");

    let (breaker, _clock) = half_open("rv_run_counts_panics");
    let unwound = AssertUnwindSafe(
        breaker.run_if(|_: &&str| panic!("counts"), async { Err::<(), _>("down") }),
    )
    .catch_unwind()
    .await;
    assert!(unwound.is_err());
    assert!(breaker.state().is_open(), "a panic in counts is a failure");
}

// ---------------------------------------------------------------------------------------------
// Time limits
// ---------------------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn run_within_zero_and_max_limits() {
    let breaker = tokio_breaker("rv_within_limits", 100, SEC);
    let ready = breaker.run_within(ZERO, async { Ok::<_, Slow>(1) }).await;
    assert_eq!(ready.unwrap(), 1, "a ready future beats a zero limit");
    let hung = breaker
        .run_within(ZERO, std::future::pending::<Result<(), Slow>>())
        .await;
    assert!(matches!(hung, Err(Error::Inner(Slow::TimedOut(_)))));
    let long = breaker
        .run_within(Duration::MAX, async {
            tokio::time::sleep(3600 * SEC).await;
            Ok::<_, Slow>(2)
        })
        .await;
    assert_eq!(long.unwrap(), 2);
    let stats = breaker.stats();
    assert_eq!((stats.successes, stats.failures), (2, 1));
}

#[tokio::test(start_paused = true)]
async fn a_deadline_shorter_than_the_call_timeout_cuts_the_first_attempt() {
    let breaker = tokio_breaker("rv_deadline_short", 100, SEC);
    let retry = Retry::builder().attempts(5).build().unwrap();
    let started = tokio::time::Instant::now();
    let error = retry
        .call_timeout(10 * SEC)
        .deadline(SEC)
        .run(&breaker, std::future::pending::<Result<(), Slow>>)
        .await
        .unwrap_err();
    assert_eq!(started.elapsed(), SEC);
    assert_eq!(error.attempts(), 1);
    assert!(matches!(error.into_inner(), Some(Slow::TimedOut(t)) if t.limit() == SEC));
}

// Once, when.rs:446-456 and schedule.rs:88-98 — the deadline is checked before the wait, not
// after it. tokio's timer rounds every sleep up to the next millisecond, so a wait that should
// end before the deadline ends after it: the next attempt then starts past the deadline, with
// a zero time limit (`saturating_sub`), and a time-out that counts against the circuit.
#[tokio::test(start_paused = true)]
async fn no_attempt_starts_at_or_after_the_deadline() {
    let breaker = tokio_breaker("rv_deadline_rounding", 100, SEC);
    let retry = Retry::builder()
        .attempts(3)
        .wait(Wait::fixed(Duration::from_micros(300)))
        .build()
        .unwrap();
    let started = tokio::time::Instant::now();
    let starts = Mutex::new(Vec::new());
    let deadline = Duration::from_micros(500);
    let error = retry
        .when(|e: &Slow| *e == Slow::Down || matches!(e, Slow::TimedOut(_)))
        .deadline(deadline)
        .run(&breaker, || {
            starts.lock().unwrap().push(started.elapsed());
            async {
                tokio::task::yield_now().await;
                Err::<(), _>(Slow::Down)
            }
        })
        .await
        .unwrap_err();
    let starts = starts.lock().unwrap().clone();
    assert!(
        starts.iter().all(|s| *s < deadline),
        "attempts started at {starts:?}, deadline {deadline:?}; last error {:?}, failures {}",
        error.inner(),
        breaker.stats().failures
    );
}

// ---------------------------------------------------------------------------------------------
// The macro
// ---------------------------------------------------------------------------------------------

#[derive(Debug, PartialEq, thiserror::Error)]
enum ApiError {
    #[error("status {0}")]
    Status(u16),
    #[error(transparent)]
    TimedOut(#[from] TimedOut),
    #[error(transparent)]
    Open(#[from] failfast::Open),
}

static GENERIC: AtomicU32 = AtomicU32::new(0);

#[failfast("rv_generic", 60, threshold = 10, retry(attempts = 3, wait = fixed("0s")))]
fn generic<T: Clone + std::fmt::Display>(
    value: T,
    also: impl AsRef<str> + Clone,
) -> Result<String, ApiError> {
    if GENERIC.fetch_add(1, Ordering::SeqCst).is_multiple_of(2) {
        return Err(ApiError::Status(503));
    }
    Ok(format!("{value}{}", also.as_ref()))
}

#[test]
fn generic_functions_and_impl_trait_arguments_are_retried() {
    assert_eq!(generic(1u8, "a").unwrap(), "1a");
    assert_eq!(generic("x".to_owned(), String::from("b")).unwrap(), "xb");
}

static DISABLED: AtomicU32 = AtomicU32::new(0);

#[failfast("rv_disabled_macro", 60, enabled = false, retry(attempts = 5, wait = fixed("0s")))]
fn disabled() -> Result<(), ApiError> {
    DISABLED.fetch_add(1, Ordering::SeqCst);
    Err(ApiError::Status(503))
}

#[test]
fn enabled_false_calls_the_body_once() {
    assert_eq!(disabled(), Err(ApiError::Status(503)));
    assert_eq!(DISABLED.load(Ordering::SeqCst), 1);
}

struct Client {
    breaker: Breaker,
    calls: AtomicU32,
}

impl Client {
    #[failfast(breaker = self.breaker, retry(attempts = 3, wait = fixed("0s")))]
    fn get(&self, id: u32) -> Result<u32, ApiError> {
        if self.calls.fetch_add(1, Ordering::SeqCst) == 0 {
            return Err(ApiError::Status(503));
        }
        Ok(id)
    }

    #[failfast(
        breaker = self.breaker,
        call_timeout = "1s",
        retry(attempts = 3, wait = fixed("10ms"))
    )]
    async fn fetch(&self, id: u32) -> Result<u32, ApiError> {
        if self.calls.fetch_add(1, Ordering::SeqCst).is_multiple_of(2) {
            std::future::pending::<()>().await;
        }
        Ok(id)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_with_a_breaker_of_self_sync_and_async_and_spawned() {
    let client = Arc::new(Client {
        breaker: Breaker::builder("rv_self_breaker")
            .trip(TripPolicy::consecutive_failures(10))
            .build()
            .unwrap(),
        calls: AtomicU32::new(0),
    });
    assert_eq!(client.get(4), Ok(4));
    let spawned = tokio::spawn({
        let client = client.clone();
        async move { client.fetch(7).await }
    });
    assert_eq!(spawned.await.unwrap(), Ok(7));
}

#[async_trait::async_trait]
trait Quotes {
    async fn quote(&self, symbol: String) -> Result<u32, ApiError>;
}

struct Exchange(AtomicU32);

#[async_trait::async_trait]
impl Quotes for Exchange {
    #[failfast("rv_async_trait", 60, threshold = 10, retry(attempts = 3, wait = fixed("1ms")))]
    async fn quote(&self, symbol: String) -> Result<u32, ApiError> {
        if self.0.fetch_add(1, Ordering::SeqCst) == 0 {
            return Err(ApiError::Status(503));
        }
        Ok(symbol.len() as u32)
    }
}

#[failfast("rv_tail_async", 60, threshold = 10, retry(attempts = 2, wait = fixed("1ms")))]
fn tail_async(name: String) -> impl std::future::Future<Output = Result<usize, ApiError>> + Send {
    async move { Ok(name.len()) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retried_async_trait_and_tail_async_futures_are_send() {
    let exchange: Arc<dyn Quotes + Send + Sync> = Arc::new(Exchange(AtomicU32::new(0)));
    let task = tokio::spawn(async move { exchange.quote("ACME".to_owned()).await });
    assert_eq!(task.await.unwrap(), Ok(4));
    let task = tokio::spawn(tail_async("abc".to_owned()));
    assert_eq!(task.await.unwrap(), Ok(3));
}

#[failfast("rv_spaced_duration", 60, retry(attempts = 2, wait = fixed(" 3 ms ")))]
fn spaced_duration() -> Result<(), ApiError> {
    Ok(())
}

#[failfast(
    "rv_tiny_duration",
    60,
    retry(attempts = 2, wait = fixed("0.0001ms"), max_elapsed = "100000000h")
)]
fn tiny_duration() -> Result<(), ApiError> {
    Ok(())
}

#[test]
fn unusual_but_valid_durations_are_accepted() {
    assert!(spaced_duration().is_ok());
    assert!(tiny_duration().is_ok());
}

#[failfast(
    "rv_exceptions_retry",
    60,
    threshold = 10,
    exceptions = [ApiError::Status(500..)],
    fallback = rv_cached,
    retry(attempts = 3, wait = fixed("0s"))
)]
fn exceptions_with_fallback(status: u16) -> Result<u32, ApiError> {
    Err(ApiError::Status(status))
}

fn rv_cached(_: Error<ApiError>) -> Result<u32, ApiError> {
    Ok(0)
}

#[test]
fn exceptions_retry_and_fallback_together() {
    assert_eq!(exceptions_with_fallback(404), Err(ApiError::Status(404)));
    assert_eq!(exceptions_with_fallback(503), Ok(0));
    let stats = failfast::Registry::global()
        .get("rv_exceptions_retry")
        .unwrap()
        .stats();
    assert_eq!((stats.ignored, stats.failures), (1, 3));
}

struct Counter(u32);

impl Counter {
    #[failfast("rv_sync_mut_self", 60, threshold = 10, retry(attempts = 3, wait = fixed("0s")))]
    fn bump(&mut self) -> Result<u32, ApiError> {
        self.0 += 1;
        if self.0 < 3 {
            return Err(ApiError::Status(503));
        }
        Ok(self.0)
    }
}

#[test]
fn a_sync_method_on_mut_self_is_retried() {
    assert_eq!(Counter(0).bump(), Ok(3));
}

static HUNG_EXCEPTIONS: AtomicU32 = AtomicU32::new(0);

#[failfast(
    "rv_timeout_exceptions",
    60,
    threshold = 10,
    exceptions = [ApiError::Status(500..)],
    call_timeout = "1s",
    retry(attempts = 3, wait = fixed("0s"))
)]
async fn hangs_with_exceptions() -> Result<(), ApiError> {
    HUNG_EXCEPTIONS.fetch_add(1, Ordering::SeqCst);
    std::future::pending().await
}

fn rv_timeout_fallback(_: Error<ApiError>) -> std::future::Ready<Result<u32, ApiError>> {
    std::future::ready(Ok(0))
}

#[failfast(
    "rv_timeout_fallback",
    60,
    threshold = 10,
    exceptions = [ApiError::Status(500..)],
    call_timeout = "1s",
    fallback = rv_timeout_fallback
)]
async fn hangs_with_fallback() -> Result<u32, ApiError> {
    std::future::pending().await
}

// Documented: a time-out always counts against the circuit, but like any other error it is
// retried, and reaches the fallback, only when `exceptions` accepts it.
#[tokio::test(start_paused = true)]
async fn a_time_out_not_in_exceptions_counts_but_is_neither_retried_nor_given_to_the_fallback() {
    let first = hangs_with_exceptions().await;
    assert!(matches!(first, Err(ApiError::TimedOut(_))), "{first:?}");
    assert_eq!(HUNG_EXCEPTIONS.load(Ordering::SeqCst), 1, "not retried");
    let breaker = failfast::Registry::global()
        .get("rv_timeout_exceptions")
        .expect("made by the call");
    assert_eq!(breaker.stats().failures, 1, "but counted");

    let answer = hangs_with_fallback().await;
    assert!(matches!(answer, Err(ApiError::TimedOut(_))), "{answer:?}");
}

#[failfast(
    "rv_timeout_in_exceptions_fallback",
    60,
    threshold = 10,
    exceptions = [ApiError::TimedOut(_)],
    call_timeout = "1s",
    fallback = rv_timeout_fallback
)]
async fn hangs_with_timeout_in_exceptions() -> Result<u32, ApiError> {
    std::future::pending().await
}

#[failfast(
    "rv_timeout_in_exceptions_retry_fallback",
    60,
    threshold = 10,
    exceptions = [ApiError::TimedOut(_)],
    call_timeout = "1s",
    retry(attempts = 2, wait = fixed("0s")),
    fallback = rv_timeout_fallback
)]
async fn hangs_retried_with_timeout_in_exceptions() -> Result<u32, ApiError> {
    std::future::pending().await
}

// Once, a time-out listed in `exceptions` was not given to the fallback without `retry`: the
// breaker counts a time-out without asking `exceptions`, and the fallback went by whether it
// had been asked.
#[tokio::test(start_paused = true)]
async fn a_time_out_in_exceptions_reaches_the_fallback_with_or_without_retry() {
    assert_eq!(hangs_with_timeout_in_exceptions().await, Ok(0));
    assert_eq!(hangs_retried_with_timeout_in_exceptions().await, Ok(0));
    let breaker = failfast::Registry::global()
        .get("rv_timeout_in_exceptions_retry_fallback")
        .expect("made by the call");
    assert_eq!(breaker.stats().failures, 2, "both attempts counted");
}

// Once, `when` was asked twice about every error: by the breaker, to count it, and again by
// the policy, to decide whether to retry it; and the macro's fallback asked `exceptions` a
// third time. A predicate that logs, counts or costs saw each error two or three times.
#[tokio::test(start_paused = true)]
async fn when_is_asked_once_per_error_sync_async_and_timed_out() {
    let asked = AtomicU32::new(0);
    let when = |_: &Slow| {
        asked.fetch_add(1, Ordering::SeqCst);
        true
    };
    let (sync_breaker, clock) = breaker("rv_asked_once_sync", 100, SEC);
    let (retry, _) = sleeping_on(&clock, Retry::builder().attempts(3).wait(Wait::fixed(ZERO)));
    let _ = retry
        .when(when)
        .call(&sync_breaker, || Err::<(), _>(Slow::Down));
    assert_eq!(asked.swap(0, Ordering::SeqCst), 3, "sync: three errors");

    let async_breaker = tokio_breaker("rv_asked_once_async", 100, SEC);
    let retry = Retry::builder()
        .attempts(3)
        .wait(Wait::fixed(ZERO))
        .build()
        .unwrap();
    let _ = retry
        .when(when)
        .run(&async_breaker, || async { Err::<(), _>(Slow::Down) })
        .await;
    assert_eq!(asked.swap(0, Ordering::SeqCst), 3, "async: three errors");

    // A time-out counts without asking; the policy asks once whether to retry it.
    let _ = retry
        .when(when)
        .call_timeout(SEC)
        .run(&async_breaker, || {
            std::future::pending::<Result<(), Slow>>()
        })
        .await;
    assert_eq!(
        asked.swap(0, Ordering::SeqCst),
        3,
        "time-outs: three errors"
    );
}

static EXCEPTIONS_ASKED: AtomicU32 = AtomicU32::new(0);

fn counted_once(_: &ApiError) -> bool {
    EXCEPTIONS_ASKED.fetch_add(1, Ordering::SeqCst);
    true
}

#[failfast(
    "rv_exceptions_asked_once",
    60,
    threshold = 10,
    when = counted_once,
    retry(attempts = 3, wait = fixed("0s")),
    fallback = rv_cached
)]
fn down_with_fallback() -> Result<u32, ApiError> {
    Err(ApiError::Status(503))
}

#[test]
fn the_macro_asks_its_predicate_once_per_error_even_with_a_fallback() {
    assert_eq!(down_with_fallback(), Ok(0));
    assert_eq!(EXCEPTIONS_ASKED.load(Ordering::SeqCst), 3);
}

// Once, a RetryError printed its last error twice in a chain (anyhow's `{:#}`): its message
// carried the error, and its source was the error again.
#[test]
fn a_retry_error_s_chain_names_the_last_error_once() {
    #[derive(Debug, thiserror::Error)]
    #[error("HTTP 503")]
    struct Unavailable;
    let (breaker, clock) = breaker("rv_chain_once", 100, SEC);
    let (retry, _) = sleeping_on(&clock, Retry::builder().attempts(2).wait(Wait::fixed(ZERO)));
    let error = retry
        .call(&breaker, || Err::<(), _>(Unavailable))
        .unwrap_err();
    let report = format!("{:#}", anyhow::Error::new(error));
    assert_eq!(report, "HTTP 503 (gave up after 2 attempts)");
}

// Once, an async retry called its attempt closure for attempts the circuit then refused: the
// future was made before the breaker was asked, so work done in the closure (cloning a
// request, counting, logging) happened for calls that were never made. Sync retries never did.
#[tokio::test(start_paused = true)]
async fn a_refused_async_attempt_does_not_call_the_attempt_closure() {
    let breaker = tokio_breaker("rv_lazy_attempt", 100, 60 * SEC);
    let retry = Retry::builder()
        .attempts(3)
        .wait(Wait::fixed(SEC))
        .build()
        .unwrap();
    let made = AtomicU32::new(0);
    let opener = breaker.clone();
    let opens_during_the_wait = async {
        tokio::time::sleep(SEC / 2).await;
        opener.force_open(60 * SEC);
    };
    let retried = retry.run(&breaker, || {
        made.fetch_add(1, Ordering::SeqCst);
        async { Err::<(), _>("down") }
    });
    let (error, ()) = tokio::join!(retried, opens_during_the_wait);
    let error = error.unwrap_err();
    assert!(error.as_open().is_some(), "the second attempt was refused");
    assert_eq!(error.attempts(), 2);
    assert_eq!(
        made.load(Ordering::SeqCst),
        1,
        "only the attempt that ran was made"
    );

    // A call into a circuit already open makes no attempt at all.
    let _ = retry
        .run(&breaker, || {
            made.fetch_add(1, Ordering::SeqCst);
            async { Ok::<(), &str>(()) }
        })
        .await;
    assert_eq!(made.load(Ordering::SeqCst), 1);
}
