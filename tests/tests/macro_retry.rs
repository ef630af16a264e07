//! `#[failfast]` with `retry` and `call_timeout`: attempts through the breaker, waits in paused
//! time, which errors are retried, time-outs that count, fallbacks after the last attempt, and
//! arguments copied for each attempt.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use failfast::{Registry, TimedOut, failfast};

#[derive(Debug, PartialEq, thiserror::Error)]
enum ApiError {
    #[error("status {0}")]
    Status(u16),
    #[error(transparent)]
    TimedOut(#[from] TimedOut),
    #[error(transparent)]
    Open(#[from] failfast::Open),
}

const SEC: Duration = Duration::from_secs(1);

fn breaker(name: &str) -> failfast::Breaker {
    Registry::global()
        .get(name)
        .expect("made by the first call")
}

static FLAKY: AtomicU32 = AtomicU32::new(0);

#[failfast("retry_sync", 60, threshold = 5, retry(attempts = 3, wait = fixed("0s")))]
fn flaky() -> Result<u32, ApiError> {
    match FLAKY.fetch_add(1, Ordering::SeqCst) {
        0 | 1 => Err(ApiError::Status(503)),
        n => Ok(n + 1),
    }
}

#[test]
fn a_sync_function_is_called_again_until_it_answers() {
    assert_eq!(flaky(), Ok(3));
    assert_eq!(FLAKY.load(Ordering::SeqCst), 3);
    let stats = breaker("retry_sync").stats();
    assert_eq!((stats.failures, stats.successes), (2, 1));
}

static NOT_FOUND: AtomicU32 = AtomicU32::new(0);

#[failfast(
    "retry_exceptions",
    60,
    threshold = 5,
    exceptions = [ApiError::Status(500..)],
    retry(attempts = 4, wait = fixed("0s"))
)]
fn lookup(status: u16) -> Result<u32, ApiError> {
    NOT_FOUND.fetch_add(1, Ordering::SeqCst);
    Err(ApiError::Status(status))
}

#[test]
fn only_the_errors_that_count_are_retried() {
    assert_eq!(lookup(404), Err(ApiError::Status(404)));
    assert_eq!(NOT_FOUND.swap(0, Ordering::SeqCst), 1, "a 404 is an answer");
    assert_eq!(lookup(502), Err(ApiError::Status(502)));
    assert_eq!(NOT_FOUND.load(Ordering::SeqCst), 4, "a 502 is retried");
}

#[failfast("retry_opens", 60, threshold = 1, retry(attempts = 5, wait = fixed("0s")))]
fn always_down() -> Result<(), ApiError> {
    Err(ApiError::Status(503))
}

static TRIES: AtomicU32 = AtomicU32::new(0);

#[failfast("retry_default_threshold", 60, retry(attempts = 4, wait = fixed("0s")))]
fn down_without_threshold() -> Result<(), ApiError> {
    TRIES.fetch_add(1, Ordering::SeqCst);
    Err(ApiError::Status(503))
}

#[test]
fn without_a_threshold_the_circuit_opens_after_one_call_s_attempts() {
    assert_eq!(down_without_threshold(), Err(ApiError::Status(503)));
    assert_eq!(TRIES.load(Ordering::SeqCst), 4, "every attempt made");
    assert!(breaker("retry_default_threshold").state().is_open());
}

#[test]
fn retrying_stops_when_the_circuit_opens() {
    assert_eq!(always_down(), Err(ApiError::Status(503)));
    assert_eq!(
        breaker("retry_opens").stats().failures,
        1,
        "one failure opened it"
    );
    assert!(matches!(always_down(), Err(ApiError::Open(_))));
}

fn cached(_: failfast::Error<ApiError>) -> Result<u32, ApiError> {
    Ok(0)
}

#[failfast(
    "retry_fallback",
    60,
    threshold = 10,
    fallback = cached,
    retry(attempts = 2, wait = fixed("0s"))
)]
fn with_fallback(status: u16) -> Result<u32, ApiError> {
    Err(ApiError::Status(status))
}

#[test]
fn the_fallback_answers_after_the_last_attempt() {
    assert_eq!(with_fallback(503), Ok(0));
    assert_eq!(breaker("retry_fallback").stats().failures, 2);
}

#[failfast("retry_owned_arguments", 60, threshold = 5, retry(attempts = 3, wait = fixed("0s")))]
fn takes_ownership(name: String, mut tries: Vec<u32>) -> Result<usize, ApiError> {
    tries.push(1);
    let owned: String = name; // moved: each attempt has its own copy
    if owned.len() + tries.len() < 100 && FLAKY_OWNED.fetch_add(1, Ordering::SeqCst) == 0 {
        return Err(ApiError::Status(503));
    }
    Ok(owned.len() + tries.len())
}

static FLAKY_OWNED: AtomicU32 = AtomicU32::new(0);

#[test]
fn each_attempt_gets_its_own_copy_of_the_arguments() {
    assert_eq!(takes_ownership("abc".to_owned(), vec![7]), Ok(5));
}

static STARTS: Mutex<Vec<Duration>> = Mutex::new(Vec::new());

#[failfast(
    "retry_async_waits",
    60,
    threshold = 10,
    retry(attempts = 4, wait = exponential(min = "1s", max = "4s"))
)]
async fn slow_to_recover(started: tokio::time::Instant) -> Result<(), ApiError> {
    STARTS.lock().unwrap().push(started.elapsed());
    Err(ApiError::Status(503))
}

#[tokio::test(start_paused = true)]
async fn an_async_function_waits_between_attempts_without_blocking() {
    let started = tokio::time::Instant::now();
    assert_eq!(slow_to_recover(started).await, Err(ApiError::Status(503)));
    assert_eq!(
        *STARTS.lock().unwrap(),
        [Duration::ZERO, SEC, 3 * SEC, 7 * SEC]
    );
}

#[failfast("call_timeout_alone", 60, call_timeout = "2s")]
async fn hangs() -> Result<(), ApiError> {
    std::future::pending().await
}

#[tokio::test(start_paused = true)]
async fn a_call_past_its_timeout_fails_with_timed_out_and_counts() {
    let started = tokio::time::Instant::now();
    let answer = hangs().await;
    assert!(matches!(answer, Err(ApiError::TimedOut(t)) if t.limit() == 2 * SEC));
    assert_eq!(started.elapsed(), 2 * SEC);
    assert!(breaker("call_timeout_alone").state().is_open());
    assert!(matches!(hangs().await, Err(ApiError::Open(_))));
}

static HUNG: AtomicU32 = AtomicU32::new(0);

struct Client;

impl Client {
    #[failfast(
        "retry_and_timeout",
        60,
        threshold = 10,
        call_timeout = "1s",
        retry(attempts = 3, wait = fixed("500ms"))
    )]
    async fn fetch(&self, id: u32) -> Result<u32, ApiError> {
        if HUNG.fetch_add(1, Ordering::SeqCst) < 2 {
            std::future::pending::<()>().await;
        }
        Ok(id * 2)
    }
}

#[tokio::test(start_paused = true)]
async fn each_attempt_of_a_method_has_its_time_limit() {
    let started = tokio::time::Instant::now();
    assert_eq!(Client.fetch(21).await, Ok(42));
    assert_eq!(
        started.elapsed(),
        3 * SEC,
        "1 s, 0.5 s wait, 1 s, 0.5 s wait, at once"
    );
    let stats = breaker("retry_and_timeout").stats();
    assert_eq!((stats.failures, stats.successes), (2, 1));
}

#[failfast("retry_mut_ref", 60, retry(attempts = 3, wait = fixed("0s")))]
fn fill(buf: &mut Vec<u8>) -> Result<usize, ApiError> {
    buf.push(1);
    if buf.len() < 3 {
        return Err(ApiError::Status(503));
    }
    Ok(buf.len())
}

#[test]
fn a_mut_reference_is_borrowed_again_for_each_attempt() {
    let mut buf = Vec::new();
    assert_eq!(fill(&mut buf), Ok(3), "each attempt's push is kept");
    assert_eq!(buf, [1, 1, 1]);
}

// `before` and `after`: the attempt hooks, as Tenacity's `before=` and `after=`.

static HEARD: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn heard_before(number: u32, circuit: &failfast::Name) {
    HEARD
        .lock()
        .unwrap()
        .push(format!("before {number} through {circuit}"));
}

fn heard_after(attempt: &failfast::retry::Attempt<'_, u32, ApiError>) {
    let outcome = match attempt.outcome {
        Ok(value) => format!("ok {value}"),
        Err(e) => format!("err {e}"),
    };
    HEARD.lock().unwrap().push(format!(
        "after {}: {outcome}, next in {:?}",
        attempt.number, attempt.next_in
    ));
}

static HOOKED: AtomicU32 = AtomicU32::new(0);

#[failfast(
    "retry_hooks",
    60,
    threshold = 5,
    retry(attempts = 3, wait = fixed("5ms"), before = heard_before, after = heard_after)
)]
fn hooked() -> Result<u32, ApiError> {
    match HOOKED.fetch_add(1, Ordering::SeqCst) {
        0 => Err(ApiError::Status(503)),
        n => Ok(n),
    }
}

#[failfast(
    "retry_hooks_async",
    60,
    threshold = 5,
    retry(attempts = 2, wait = fixed("1s"), after = |a| {
        HEARD.lock().unwrap().push(format!("async after {}", a.number));
    }),
    call_timeout = "3s"
)]
async fn hooked_async(fail: bool) -> Result<u32, ApiError> {
    if fail {
        Err(ApiError::Status(500))
    } else {
        Ok(7)
    }
}

#[tokio::test(start_paused = true)]
async fn hooks_hear_every_attempt_sync_and_async() {
    HEARD.lock().unwrap().clear();
    assert_eq!(hooked(), Ok(1));
    assert_eq!(
        *HEARD.lock().unwrap(),
        [
            "before 1 through retry_hooks",
            "after 1: err status 503, next in Some(5ms)",
            "before 2 through retry_hooks",
            "after 2: ok 1, next in None",
        ]
    );
    HEARD.lock().unwrap().clear();
    assert_eq!(hooked_async(true).await, Err(ApiError::Status(500)));
    assert_eq!(hooked_async(false).await, Ok(7));
    assert_eq!(
        *HEARD.lock().unwrap(),
        ["async after 1", "async after 2", "async after 1"]
    );
}

#[failfast(
    "retry_logged",
    60,
    threshold = 5,
    retry(
        attempts = 2,
        wait = fixed("0s"),
        before = failfast::retry::log_before,
        after = failfast::retry::log_after
    )
)]
fn logged(fail: bool) -> Result<u32, ApiError> {
    if fail {
        Err(ApiError::Status(502))
    } else {
        Ok(1)
    }
}

#[test]
fn the_ready_made_tracing_logs_are_hooks_too() {
    tests::logs::logs(); // the subscriber, installed before anything is logged
    assert_eq!(logged(true), Err(ApiError::Status(502)));
    let lines = tests::logs::containing("retry_logged");
    let logged =
        |level: &str, text: &str| lines.iter().any(|l| l.contains(level) && l.contains(text));
    assert!(logged("DEBUG", "attempt 1"), "{lines:#?}");
    assert!(
        logged("WARN", "attempt 1 failed: status 502; retrying in 0ns"),
        "{lines:#?}"
    );
    assert!(
        logged("ERROR", "attempt 2 failed: status 502; giving up"),
        "{lines:#?}"
    );
}
