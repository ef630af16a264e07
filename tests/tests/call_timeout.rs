//! Call time-outs: `Breaker::run_within` counts a call that outlives its limit as a failure and
//! returns `TimedOut` through the call's own error, where a time-out around `breaker.run(..)`
//! cancels the call and counts nothing. And `TokioClock`, which follows tokio's paused time.

use std::time::Duration;

use failfast::{Breaker, Error, TimedOut, TokioClock};

const LIMIT: Duration = Duration::from_secs(2);

#[derive(Debug, PartialEq)]
enum ApiError {
    TimedOut(TimedOut),
    NotFound,
}

impl From<TimedOut> for ApiError {
    fn from(timed_out: TimedOut) -> Self {
        ApiError::TimedOut(timed_out)
    }
}

/// A breaker on tokio's clock, open for 30 s after one failure.
fn breaker(name: &'static str) -> Breaker {
    Breaker::builder(name)
        .open_for(Duration::from_secs(30))
        .clock(TokioClock::new())
        .build()
        .unwrap()
}

/// An answer after `delay`.
async fn answer_after(delay: Duration) -> Result<u32, ApiError> {
    tokio::time::sleep(delay).await;
    Ok(7)
}

#[tokio::test(start_paused = true)]
async fn a_call_past_its_limit_times_out_and_counts_as_a_failure() {
    let breaker = breaker("timeout_counts");
    let started = tokio::time::Instant::now();
    let answer = breaker
        .run_within(LIMIT, answer_after(Duration::from_secs(60)))
        .await;
    assert!(matches!(
        answer,
        Err(Error::Inner(ApiError::TimedOut(t))) if t.limit() == LIMIT
    ));
    assert_eq!(started.elapsed(), LIMIT, "cut at the limit, not later");
    assert_eq!(breaker.stats().failures, 1);
    assert!(breaker.state().is_open());
}

#[tokio::test(start_paused = true)]
async fn a_call_within_its_limit_answers_and_counts_as_a_success() {
    let breaker = breaker("timeout_in_time");
    let answer = breaker
        .run_within(LIMIT, answer_after(Duration::from_millis(1999)))
        .await;
    assert_eq!(answer.unwrap(), 7);
    assert_eq!(breaker.stats().successes, 1);
    assert!(breaker.state().is_closed());
}

#[tokio::test(start_paused = true)]
async fn a_time_out_counts_even_where_the_call_s_own_errors_do_not() {
    let breaker = breaker("timeout_if");
    let never = |_: &ApiError| false;
    let not_found = breaker
        .run_if_within(LIMIT, never, async { Err::<u32, _>(ApiError::NotFound) })
        .await;
    assert!(matches!(not_found, Err(Error::Inner(ApiError::NotFound))));
    assert!(breaker.state().is_closed(), "not counted");
    let hung = breaker
        .run_if_within(LIMIT, never, answer_after(Duration::MAX))
        .await;
    assert!(matches!(hung, Err(Error::Inner(ApiError::TimedOut(_)))));
    assert!(breaker.state().is_open(), "the time-out counted");
}

#[tokio::test(start_paused = true)]
async fn a_time_out_around_run_cancels_the_call_and_counts_nothing() {
    // The trap `run_within` closes, pinned down: the guarded future is dropped unfinished.
    let breaker = breaker("timeout_around");
    for _ in 0..3 {
        let outer = tokio::time::timeout(LIMIT, breaker.run(answer_after(Duration::MAX))).await;
        assert!(outer.is_err());
    }
    let stats = breaker.stats();
    assert_eq!((stats.failures, stats.successes), (0, 0));
    assert!(breaker.state().is_closed());
}

#[tokio::test(start_paused = true)]
async fn a_refused_call_does_not_wait_for_the_limit() {
    let breaker = breaker("timeout_refused");
    breaker.force_open(Duration::from_secs(30));
    let started = tokio::time::Instant::now();
    let refused = breaker.run_within(LIMIT, answer_after(Duration::MAX)).await;
    assert!(matches!(refused, Err(Error::Open(_))));
    assert_eq!(started.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn a_breaker_on_tokio_s_clock_follows_paused_time() {
    let breaker = breaker("tokio_clock_follows");
    breaker.force_open(Duration::from_secs(30));
    tokio::time::advance(Duration::from_secs(29)).await;
    let open = breaker.try_acquire().map(|_| ()).unwrap_err();
    assert_eq!(open.retry_in(), Duration::from_secs(1));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(breaker.state().is_half_open());
    let probe = breaker
        .run_within(LIMIT, answer_after(Duration::from_millis(10)))
        .await;
    assert_eq!(probe.unwrap(), 7);
    assert!(breaker.state().is_closed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_with_a_limit_can_be_spawned() {
    let breaker = Breaker::new("timeout_spawned", Duration::from_secs(30));
    let task = tokio::spawn(async move {
        breaker
            .run_within(LIMIT, async { Ok::<_, ApiError>(1) })
            .await
    });
    assert_eq!(task.await.unwrap().unwrap(), 1);
}

/// Each `#[tokio::test]` has a runtime of its own, whose paused time starts when that runtime is
/// built. A `#[failfast("name", ..)]` breaker, made once per process, keeps the clock of the
/// test that first called it; a later test whose runtime was built earlier than that clock
/// still sees its own time pass (it used to read zero until it caught up, so the circuit
/// stayed open past its period).
#[test]
fn a_tokio_clock_made_under_one_runtime_keeps_time_under_an_earlier_one() {
    let paused = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap()
    };
    let earlier = paused();
    let built = std::time::Instant::now();
    while std::time::Instant::now() == built {} // the next runtime's time starts later
    let later = paused();
    let breaker = later.block_on(async { breaker("clock_across_runtimes") });
    earlier.block_on(async {
        breaker.force_open(Duration::from_secs(30));
        tokio::time::sleep(Duration::from_secs(29)).await;
        assert!(breaker.state().is_open(), "29 s of 30 have passed");
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(breaker.state().is_half_open(), "30 s have passed");
    });
}
