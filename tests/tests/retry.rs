//! Retries through the breaker: exact waits, stop conditions, answers retried, errors not
//! retried, the open circuit that stops retrying, waiting for the circuit, and hints. Sync
//! retries sleep through a `ManualClock`; async ones run in tokio's paused time.

use std::sync::Mutex;
use std::time::Duration;

use failfast::retry::{Jitter, Retry, Wait};
use failfast::{Breaker, Clock};
use tests::retry::{breaker, sleeping_on, tokio_breaker, waits};

const SEC: Duration = Duration::from_secs(1);

#[test]
fn exponential_waits_follow_tenacity_s_sequence() {
    let (breaker, clock) = breaker("retry_exponential", 100, SEC);
    let wait = Wait::exponential(2 * SEC, 10 * SEC).multiplier(SEC);
    let (retry, made) = sleeping_on(&clock, Retry::builder().attempts(6).wait(wait));
    let error = retry.call(&breaker, || Err::<(), _>("down")).unwrap_err();
    assert_eq!(waits(&made), [2 * SEC, 2 * SEC, 4 * SEC, 8 * SEC, 10 * SEC]);
    assert_eq!(error.attempts(), 6);
    assert_eq!(clock.now(), 26 * SEC);
    assert_eq!(
        breaker.stats().failures,
        6,
        "every attempt went through the breaker"
    );
    assert_eq!(error.to_string(), "down (gave up after 6 attempts)");
}

#[test]
fn a_time_budget_stops_before_a_wait_that_would_overrun_it() {
    let (breaker, clock) = breaker("retry_budget", 100, SEC);
    let builder = Retry::builder()
        .attempts(10)
        .max_elapsed(10 * SEC)
        .wait(Wait::fixed(3 * SEC));
    let (retry, made) = sleeping_on(&clock, builder);
    let error = retry.call(&breaker, || Err::<(), _>("down")).unwrap_err();
    assert_eq!(
        error.attempts(),
        4,
        "at 0, 3, 6 and 9 s; a fifth would start at 12 s"
    );
    assert_eq!(waits(&made), [3 * SEC; 3]);
}

#[test]
fn answers_can_be_retried_and_the_last_is_returned_when_the_policy_gives_up() {
    let (breaker, clock) = breaker("retry_answers", 100, SEC);
    let (retry, made) = sleeping_on(&clock, Retry::builder().wait(Wait::fixed(SEC)));
    let mut answers = vec![Some(3), None];
    let answer = retry
        .when(|_: &&str| true)
        .when_ok(|answer: &Option<u32>| answer.is_none())
        .call(&breaker, || Ok::<_, &str>(answers.pop().unwrap()));
    assert_eq!(answer.unwrap(), Some(3));
    assert_eq!(waits(&made), [SEC]);

    let empty = retry
        .when(|_: &&str| true)
        .when_ok(|answer: &Option<u32>| answer.is_none())
        .call(&breaker, || Ok::<Option<u32>, &str>(None));
    assert_eq!(empty.unwrap(), None, "three empty answers: the last one");
    assert_eq!(breaker.stats().failures, 0, "an empty answer is no failure");
}

#[test]
fn an_error_not_to_retry_returns_at_once_and_does_not_count() {
    let (breaker, clock) = breaker("retry_not_found", 1, SEC);
    let (retry, made) = sleeping_on(&clock, Retry::builder().attempts(5));
    let mut calls = 0;
    let error = retry
        .when(|status: &u16| *status >= 500)
        .call(&breaker, || {
            calls += 1;
            Err::<(), u16>(404)
        })
        .unwrap_err();
    assert_eq!((calls, error.attempts()), (1, 1));
    assert_eq!(error.into_inner(), Some(404));
    assert!(waits(&made).is_empty());
    assert!(breaker.state().is_closed(), "a 404 does not count");
    assert_eq!(breaker.stats().ignored, 1);
}

#[test]
fn a_circuit_that_opens_stops_the_retrying_at_once() {
    let (breaker, clock) = breaker("retry_opens", 2, 30 * SEC);
    let (retry, made) = sleeping_on(&clock, Retry::builder().attempts(5).wait(Wait::fixed(SEC)));
    let mut calls = 0;
    let error = retry
        .call(&breaker, || {
            calls += 1;
            Err::<(), _>("down")
        })
        .unwrap_err();
    assert_eq!(calls, 2, "the second failure opened the circuit");
    assert_eq!(error.attempts(), 2);
    assert_eq!(
        error.into_inner(),
        Some("down"),
        "the last real error, not the refusal"
    );
    assert_eq!(waits(&made), [SEC], "no wait after the circuit opened");
}

#[test]
fn a_circuit_already_open_refuses_the_first_attempt_and_nothing_waits() {
    let (breaker, clock) = breaker("retry_refused", 1, 30 * SEC);
    breaker.force_open(30 * SEC);
    let (retry, made) = sleeping_on(&clock, Retry::builder().attempts(5));
    let mut calls = 0;
    let error = retry
        .call(&breaker, || {
            calls += 1;
            Ok::<_, &str>(())
        })
        .unwrap_err();
    assert_eq!(calls, 0);
    assert_eq!(error.attempts(), 1);
    assert_eq!(error.as_open().unwrap().retry_in(), 30 * SEC);
    assert!(waits(&made).is_empty());
}

#[test]
fn waiting_for_the_circuit_lets_the_next_attempt_be_its_probe() {
    let (breaker, clock) = breaker("retry_waits_for_circuit", 1, 5 * SEC);
    let builder = Retry::builder()
        .attempts(3)
        .wait(Wait::fixed(SEC))
        .wait_for_circuit(10 * SEC);
    let (retry, made) = sleeping_on(&clock, builder);
    let mut answers = vec![Ok(9), Err("down")];
    let answer = retry.call(&breaker, || answers.pop().unwrap());
    assert_eq!(answer.unwrap(), 9);
    assert_eq!(
        waits(&made),
        [5 * SEC],
        "the open period, not the shorter wait"
    );
    assert!(breaker.state().is_closed(), "the probe closed it");
}

#[test]
fn a_circuit_open_longer_than_the_bound_is_not_waited_for() {
    let (breaker, clock) = breaker("retry_circuit_too_long", 1, 30 * SEC);
    let builder = Retry::builder().attempts(3).wait_for_circuit(10 * SEC);
    let (retry, made) = sleeping_on(&clock, builder);
    let error = retry.call(&breaker, || Err::<(), _>("down")).unwrap_err();
    assert_eq!(error.attempts(), 1);
    assert!(waits(&made).is_empty());
}

#[test]
fn a_hint_from_the_error_replaces_the_wait() {
    let (breaker, clock) = breaker("retry_hint", 100, SEC);
    let builder = Retry::builder().wait(Wait::exponential(SEC, 10 * SEC));
    let (retry, made) = sleeping_on(&clock, builder);
    let mut answers = vec![Ok("done"), Err(7), Err(0)];
    let answer = retry
        .when(|_: &u64| true)
        .hint(|retry_after: &u64| Some(Duration::from_secs(*retry_after)))
        .call(&breaker, || answers.pop().unwrap());
    assert_eq!(answer.unwrap(), "done");
    assert_eq!(waits(&made), [Duration::ZERO, 7 * SEC]);
}

#[test]
fn full_jitter_waits_at_most_the_nominal_wait() {
    let (breaker, clock) = breaker("retry_jitter", 1000, SEC);
    let wait = Wait::exponential(SEC, 8 * SEC).jitter(Jitter::Full);
    let (retry, made) = sleeping_on(&clock, Retry::builder().attempts(5).wait(wait));
    for _ in 0..50 {
        let _ = retry.call(&breaker, || Err::<(), _>("down"));
    }
    let made = waits(&made);
    assert_eq!(made.len(), 200);
    for (i, wait) in made.iter().enumerate() {
        let nominal = [SEC, 2 * SEC, 4 * SEC, 8 * SEC][i % 4];
        assert!(*wait <= nominal, "{wait:?} over {nominal:?}");
    }
    assert!(made.iter().any(|w| *w < SEC / 2), "spread out: {made:?}");
}

#[tokio::test(start_paused = true)]
async fn async_attempts_start_after_exact_waits_in_paused_time() {
    let breaker = tokio_breaker("retry_async_waits", 100, SEC);
    let retry = Retry::builder()
        .attempts(4)
        .wait(Wait::exponential(SEC, 3 * SEC))
        .build()
        .unwrap();
    let started = tokio::time::Instant::now();
    let starts = Mutex::new(Vec::new());
    let error = retry
        .run(&breaker, || {
            starts.lock().unwrap().push(started.elapsed());
            async { Err::<(), _>("down") }
        })
        .await
        .unwrap_err();
    assert_eq!(
        *starts.lock().unwrap(),
        [Duration::ZERO, SEC, 3 * SEC, 6 * SEC]
    );
    assert_eq!(error.attempts(), 4);
}

#[tokio::test(start_paused = true)]
async fn async_retrying_stops_when_the_circuit_opens_and_waits_for_it_when_allowed() {
    let breaker = tokio_breaker("retry_async_circuit", 1, 5 * SEC);
    let retry = Retry::builder().attempts(3).build().unwrap();
    let error = retry
        .run(&breaker, || async { Err::<(), _>("down") })
        .await
        .unwrap_err();
    assert_eq!(error.attempts(), 1);
    assert!(breaker.state().is_open());

    let patient = Retry::builder()
        .attempts(3)
        .wait_for_circuit(5 * SEC)
        .build()
        .unwrap();
    let started = tokio::time::Instant::now();
    let answer = patient
        .run(&breaker, || async { Ok::<_, &str>("back") })
        .await;
    assert_eq!(answer.unwrap(), "back");
    assert_eq!(
        started.elapsed(),
        5 * SEC,
        "waited out the open period, then probed"
    );
    assert!(breaker.state().is_closed());
}

#[tokio::test(start_paused = true)]
async fn async_retries_stop_at_the_time_budget() {
    let breaker = tokio_breaker("retry_async_budget", 100, SEC);
    let retry = Retry::builder()
        .attempts(100)
        .max_elapsed(10 * SEC)
        .wait(Wait::fixed(4 * SEC))
        .build()
        .unwrap();
    let started = tokio::time::Instant::now();
    let error = retry
        .run(&breaker, || async {
            tokio::time::sleep(SEC).await;
            Err::<(), _>("slow and failing")
        })
        .await
        .unwrap_err();
    // Attempts start at 0, 5 and 10 s (each takes 1 s, then 4 s of wait); a fourth would start
    // at 15 s, past the budget.
    assert_eq!(error.attempts(), 3);
    assert_eq!(started.elapsed(), 11 * SEC);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_async_retry_can_be_spawned() {
    let breaker = Breaker::new("retry_spawned", SEC);
    let retry = Retry::builder()
        .wait(Wait::fixed(Duration::ZERO))
        .build()
        .unwrap();
    let task = tokio::spawn(async move {
        retry
            .run(&breaker, || async { Ok::<_, std::io::Error>(5) })
            .await
    });
    assert_eq!(task.await.unwrap().unwrap(), 5);
}

#[test]
fn a_budget_keeps_retries_to_a_share_of_the_calls() {
    let (breaker, clock) = breaker("retry_budgeted", 1_000_000, SEC);
    let budget = failfast::retry::RetryBudget::new(0.1, 0);
    let builder = Retry::builder()
        .attempts(3)
        .wait(Wait::fixed(Duration::ZERO))
        .budget(budget);
    let (retry, _) = sleeping_on(&clock, builder);
    for _ in 0..100 {
        let _ = retry.call(&breaker, || Err::<(), _>("down"));
    }
    let attempts = breaker.stats().calls;
    assert!(
        (105..=110).contains(&attempts),
        "100 calls, about 10 retries: {attempts} attempts"
    );

    let (unlimited, _) = sleeping_on(
        &clock,
        Retry::builder()
            .attempts(3)
            .wait(Wait::fixed(Duration::ZERO))
            .budget(failfast::retry::RetryBudget::unlimited()),
    );
    let before = breaker.stats().calls;
    for _ in 0..100 {
        let _ = unlimited.call(&breaker, || Err::<(), _>("down"));
    }
    assert_eq!(breaker.stats().calls - before, 300);
}

#[test]
fn the_default_budget_lets_a_quiet_service_retry() {
    let (breaker, clock) = breaker("retry_default_budget", 1_000_000, SEC);
    let (retry, _) = sleeping_on(
        &clock,
        Retry::builder()
            .attempts(3)
            .wait(Wait::fixed(Duration::ZERO)),
    );
    let error = retry.call(&breaker, || Err::<(), _>("down")).unwrap_err();
    assert_eq!(
        error.attempts(),
        3,
        "10 retries a second are always allowed"
    );
}

#[derive(Debug, PartialEq)]
enum Slow {
    TimedOut(failfast::TimedOut),
    Refused,
}

impl From<failfast::TimedOut> for Slow {
    fn from(timed_out: failfast::TimedOut) -> Self {
        Slow::TimedOut(timed_out)
    }
}

#[tokio::test(start_paused = true)]
async fn each_attempt_past_its_call_timeout_counts_and_is_retried() {
    let breaker = tokio_breaker("retry_call_timeout", 100, SEC);
    let retry = Retry::builder()
        .attempts(3)
        .wait(Wait::fixed(SEC))
        .build()
        .unwrap();
    let started = tokio::time::Instant::now();
    let mut attempts = 0;
    let answer = retry
        .call_timeout(2 * SEC)
        .run(&breaker, || {
            attempts += 1;
            let hangs = attempts < 3;
            async move {
                if hangs {
                    std::future::pending::<()>().await;
                }
                Ok::<_, Slow>("third time")
            }
        })
        .await;
    assert_eq!(answer.unwrap(), "third time");
    assert_eq!(
        started.elapsed(),
        6 * SEC,
        "2 s, 1 s wait, 2 s, 1 s wait, at once"
    );
    let stats = breaker.stats();
    assert_eq!(
        (stats.failures, stats.successes),
        (2, 1),
        "each time-out counted"
    );
}

#[tokio::test(start_paused = true)]
async fn a_time_out_counts_against_the_circuit_even_when_not_retried() {
    let breaker = tokio_breaker("retry_timeout_not_retried", 1, 30 * SEC);
    let retry = Retry::builder().attempts(3).build().unwrap();
    let error = retry
        .when(|e: &Slow| *e == Slow::Refused)
        .call_timeout(SEC)
        .run(&breaker, std::future::pending::<Result<(), Slow>>)
        .await
        .unwrap_err();
    assert_eq!(error.attempts(), 1);
    assert!(matches!(
        error.into_inner(),
        Some(Slow::TimedOut(t)) if t.limit() == SEC
    ));
    assert!(breaker.state().is_open());
}

#[tokio::test(start_paused = true)]
async fn a_deadline_cuts_the_attempt_under_way_and_starts_no_other() {
    let breaker = tokio_breaker("retry_deadline", 100, SEC);
    let retry = Retry::builder()
        .attempts(10)
        .wait(Wait::fixed(SEC))
        .build()
        .unwrap();
    let started = tokio::time::Instant::now();
    let error = retry
        .call_timeout(3 * SEC)
        .deadline(5 * SEC)
        .run(&breaker, std::future::pending::<Result<(), Slow>>)
        .await
        .unwrap_err();
    // 0-3 s: cut by the call time-out; 3-4 s: wait; 4-5 s: cut by the deadline.
    assert_eq!(started.elapsed(), 5 * SEC);
    assert_eq!(error.attempts(), 2);
    assert!(matches!(
        error.into_inner(),
        Some(Slow::TimedOut(t)) if t.limit() == SEC
    ));
}

#[test]
fn a_hint_longer_than_the_longest_wait_ends_the_retrying() {
    let (breaker, clock) = breaker("retry_hint_too_long", 100, SEC);
    let builder = Retry::builder().wait(Wait::exponential(SEC, 10 * SEC));
    let (retry, made) = sleeping_on(&clock, builder);
    let error = retry
        .when(|_: &u64| true)
        .hint(|retry_after: &u64| Some(Duration::from_secs(*retry_after)))
        .call(&breaker, || Err::<(), u64>(365 * 24 * 3600))
        .unwrap_err();
    assert_eq!(error.attempts(), 1);
    assert!(waits(&made).is_empty(), "no year-long sleep");
}

#[test]
fn hooks_hear_each_attempt_before_and_after_with_the_coming_wait() {
    let (breaker, clock) = breaker("retry_hooks", 100, SEC);
    let (retry, _) = sleeping_on(&clock, Retry::builder().attempts(3).wait(Wait::fixed(SEC)));
    let heard = Mutex::new(Vec::new());
    let mut answers = vec![Ok(7), Err("busy"), Err("busy")];
    let answer = retry
        .when(|_: &&str| true)
        .before_attempt(|n: u32, circuit: &failfast::Name| {
            heard.lock().unwrap().push(format!("before {n} {circuit}"));
        })
        .after_attempt(|a: &failfast::retry::Attempt<'_, u32, &str>| {
            let outcome = match a.outcome {
                Ok(v) => format!("answered {v}"),
                Err(e) => format!("failed: {e}"),
            };
            heard.lock().unwrap().push(format!(
                "after {} {outcome}, next in {:?}",
                a.number, a.next_in
            ));
        })
        .call(&breaker, || answers.pop().unwrap());
    assert_eq!(answer.unwrap(), 7);
    assert_eq!(
        *heard.lock().unwrap(),
        [
            "before 1 retry_hooks",
            "after 1 failed: busy, next in Some(1s)",
            "before 2 retry_hooks",
            "after 2 failed: busy, next in Some(1s)",
            "before 3 retry_hooks",
            "after 3 answered 7, next in None",
        ]
    );
}

#[test]
fn ready_made_tracing_hooks_log_each_failed_attempt_and_the_end() {
    tests::logs::logs(); // the subscriber, installed before anything is logged
    let (breaker, clock) = breaker("retry_logged", 100, SEC);
    let (retry, _) = sleeping_on(&clock, Retry::builder().attempts(2).wait(Wait::fixed(SEC)));
    let _ = retry
        .when(|_: &&str| true)
        .before_attempt(failfast::retry::log_before)
        .after_attempt(failfast::retry::log_after::<(), &str>)
        .call(&breaker, || Err::<(), _>("busy"));
    let lines = tests::logs::containing("retry_logged");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("WARN") && l.contains("attempt 1 failed: busy; retrying in 1s")),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("ERROR") && l.contains("attempt 2 failed: busy; giving up")),
        "{lines:#?}"
    );
    assert_eq!(
        lines.iter().filter(|l| l.contains("DEBUG")).count(),
        2,
        "{lines:#?}"
    );
}

#[test]
fn every_give_up_says_why_to_the_caller_and_to_the_hooks() {
    use failfast::retry::{RetryBudget, StopReason};
    let fixed = |attempts: u32| Retry::builder().attempts(attempts).wait(Wait::fixed(SEC));
    let stopped = |breaker: &Breaker, retry: &Retry, error: &'static str| {
        let heard = Mutex::new(Vec::new());
        let result = retry
            .when(|e: &&str| *e != "404")
            .hint(|e: &&str| (*e == "429").then_some(60 * SEC))
            .after_attempt(|a: &failfast::retry::Attempt<'_, (), &str>| {
                heard.lock().unwrap().push(a.stop)
            })
            .call(breaker, || Err::<(), _>(error));
        let error = result.unwrap_err();
        let heard = heard.into_inner().unwrap();
        assert_eq!(heard.last().copied().flatten(), Some(error.stop_reason()));
        assert!(heard[..heard.len() - 1].iter().all(Option::is_none));
        (error.stop_reason(), error.to_string())
    };

    let (b, clock) = breaker("stop_attempts", 100, SEC);
    let (retry, _) = sleeping_on(&clock, fixed(2));
    assert_eq!(
        stopped(&b, &retry, "503"),
        (
            StopReason::Attempts,
            "503 (gave up after 2 attempts)".into()
        )
    );
    assert_eq!(
        stopped(&b, &retry, "404"),
        (StopReason::NotRetryable, "404".into())
    );
    assert_eq!(
        stopped(&b, &retry, "429"),
        (
            StopReason::HintTooLong,
            "429 (gave up after 1 attempt: asked to wait longer than the policy waits)".into()
        )
    );

    let (b, clock) = breaker("stop_circuit", 2, SEC);
    let (retry, _) = sleeping_on(&clock, fixed(5));
    assert_eq!(stopped(&b, &retry, "503").0, StopReason::CircuitOpen);

    let (b, clock) = breaker("stop_time", 100, SEC);
    let (retry, _) = sleeping_on(&clock, fixed(5).max_elapsed(SEC / 2));
    assert_eq!(stopped(&b, &retry, "503").0, StopReason::TimeLimit);

    let (b, clock) = breaker("stop_budget", 100, SEC);
    let (retry, _) = sleeping_on(&clock, fixed(5).budget(RetryBudget::new(0.0, 0)));
    assert_eq!(
        stopped(&b, &retry, "503"),
        (
            StopReason::Budget,
            "503 (gave up after 1 attempt: the retry budget is spent)".into()
        )
    );
}

#[test]
fn log_after_logs_an_error_not_to_retry_at_debug_and_a_give_up_with_its_reason() {
    tests::logs::logs(); // the subscriber, installed before anything is logged
    let (breaker, clock) = breaker("retry_log_reasons", 100, SEC);
    let (retry, _) = sleeping_on(&clock, Retry::builder().attempts(2).wait(Wait::fixed(SEC)));
    let call = |error: &'static str| {
        let _ = retry
            .when(|e: &&str| *e != "404")
            .after_attempt(failfast::retry::log_after)
            .call(&breaker, || Err::<(), _>(error));
    };
    call("404");
    call("503");
    let lines = tests::logs::containing("retry_log_reasons");
    let logged =
        |level: &str, text: &str| lines.iter().any(|l| l.contains(level) && l.contains(text));
    assert!(
        logged("DEBUG", "attempt 1 failed: 404; not retried"),
        "{lines:#?}"
    );
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("ERROR") && l.contains("404")),
        "{lines:#?}"
    );
    assert!(
        logged(
            "ERROR",
            "attempt 2 failed: 503; giving up: every attempt was made"
        ),
        "{lines:#?}"
    );
}

#[test]
fn max_hint_lets_a_policy_of_short_waits_honour_a_longer_retry_after() {
    let (breaker, clock) = breaker("retry_max_hint", 100, SEC);
    let short = Retry::builder()
        .attempts(2)
        .wait(Wait::fixed(Duration::from_millis(100)));
    let rate_limited = |retry: &Retry| {
        let mut answers = vec![Ok(7), Err("429")];
        retry
            .when(|_: &&str| true)
            .hint(|_: &&str| Some(SEC))
            .call(&breaker, || answers.pop().unwrap())
    };
    let (by_default, made) = sleeping_on(&clock, short.clone());
    let error = rate_limited(&by_default).unwrap_err();
    assert_eq!(
        error.stop_reason(),
        failfast::retry::StopReason::HintTooLong
    );
    assert!(
        waits(&made).is_empty(),
        "a hint above the longest wait ends it"
    );

    let (honouring, made) = sleeping_on(&clock, short.max_hint(5 * SEC));
    assert_eq!(rate_limited(&honouring).unwrap(), 7);
    assert_eq!(waits(&made), [SEC], "the hint, not the policy's 100 ms");
}
