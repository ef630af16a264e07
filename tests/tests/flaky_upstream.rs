//! The flaky upstream example: each scenario's circuit does what the story says, and the
//! upstream's own hit counts show that refused calls never reach it.

use std::time::Duration;

use Phase::{Closed, HalfOpen, Open};
use Verdict::{Failure, Ignored, Refused, Success};
use examples::flaky_upstream::{
    self, Client, ClientConfig, Config, Scenario, ScenarioReport, Step, UpstreamConfig,
    UpstreamError, Verdict, server,
};
use failfast::{Phase, Reason};

/// Runs one scenario against a mock upstream of its own.
async fn run(scenario: Scenario, config: Config) -> ScenarioReport {
    let upstream = server::start(config.upstream.clone()).await.unwrap();
    let client = Client::new(upstream.url(), &config.client).unwrap();
    let report = flaky_upstream::run_scenario(&client, &upstream, scenario, &config, |_| {}).await;
    upstream.stop().await;
    report
}

/// A quick story: a short timeout and open periods, one call after the wait.
fn quick() -> Config {
    Config {
        client: ClientConfig {
            timeout: Duration::from_millis(100),
            open_for: Duration::from_millis(200),
            ..ClientConfig::default()
        },
        upstream: UpstreamConfig {
            slow_for: Duration::from_millis(500),
            ..UpstreamConfig::default()
        },
        calls_after_wait: 1,
        ..Config::default()
    }
}

fn verdicts(report: &ScenarioReport) -> Vec<Verdict> {
    report
        .steps
        .iter()
        .filter_map(|step| match step {
            Step::Call { verdict, .. } => Some(*verdict),
            Step::Waited { .. } => None,
        })
        .collect()
}

/// The (from, to, reason) of every transition, in order.
fn transitions(report: &ScenarioReport) -> Vec<(Phase, Phase, Reason)> {
    report
        .transitions()
        .map(|t| (t.from, t.to, t.reason))
        .collect()
}

#[tokio::test]
async fn not_found_is_ignored_and_never_opens_the_circuit() {
    let mut config = quick();
    config.calls = 10;
    let report = run(Scenario::NotFound, config).await;
    assert_eq!(verdicts(&report), [Ignored; 10]);
    assert!(report.steps.iter().all(|step| matches!(
        step,
        Step::Call {
            result: Err(UpstreamError::Status(404)),
            ..
        }
    )));
    assert_eq!((report.stats.ignored, report.stats.failures), (10, 0));
    assert_eq!(report.stats.transitions, 0);
    assert_eq!(report.phase, Closed);
    assert_eq!(report.hits, 10, "every call reached the upstream");
}

#[tokio::test]
async fn server_errors_open_the_circuit_and_refused_calls_never_reach_the_upstream() {
    let mut config = quick();
    config.upstream.error_rate = 1.0;
    let report = run(Scenario::RandomError, config).await;
    // Two 500s open it, four calls are refused, the probe gets a 500 too.
    assert_eq!(
        verdicts(&report),
        [
            Failure, Failure, Refused, Refused, Refused, Refused, Failure
        ]
    );
    assert_eq!(
        transitions(&report),
        [
            (Closed, Open, Reason::ConsecutiveFailures(2)),
            (Open, HalfOpen, Reason::OpenElapsed),
            (HalfOpen, Open, Reason::ProbeFailed),
        ]
    );
    assert_eq!(report.stats.rejected, 4);
    assert_eq!(report.hits, 3, "refused calls do not reach the upstream");
    assert_eq!(report.phase, Open);
}

#[tokio::test]
async fn an_upstream_that_recovers_closes_the_circuit_after_one_probe() {
    // With the default seed: a lone 500, then two in a row, then answers again.
    let report = run(Scenario::RandomError, quick()).await;
    assert_eq!(
        verdicts(&report),
        [
            Success, Failure, Success, Failure, Failure, Refused, Success
        ]
    );
    assert_eq!(
        transitions(&report),
        [
            (Closed, Open, Reason::ConsecutiveFailures(2)),
            (Open, HalfOpen, Reason::OpenElapsed),
            (HalfOpen, Closed, Reason::ProbesSucceeded(1)),
        ]
    );
    assert_eq!(report.hits, 6);
    assert_eq!(report.phase, Closed);
}

#[tokio::test]
async fn slow_answers_time_out_open_the_circuit_and_stop_reaching_the_upstream() {
    let report = run(Scenario::Timeout, quick()).await;
    assert_eq!(
        verdicts(&report),
        [
            Failure, Failure, Refused, Refused, Refused, Refused, Failure
        ]
    );
    let timed_out = |step: &&Step| match step {
        Step::Call {
            result: Err(UpstreamError::Timeout(after)),
            ..
        } => *after == Duration::from_millis(100),
        _ => false,
    };
    assert_eq!(report.steps.iter().filter(timed_out).count(), 3);
    assert_eq!(
        transitions(&report),
        [
            (Closed, Open, Reason::ConsecutiveFailures(2)),
            (Open, HalfOpen, Reason::OpenElapsed),
            (HalfOpen, Open, Reason::ProbeFailed),
        ]
    );
    assert_eq!(report.hits, 3, "refused calls do not reach the upstream");
}

#[tokio::test]
async fn rate_limiting_counts_and_its_retry_after_is_surfaced() {
    // The circuit stays open as long as the upstream's window (1 s), so the probe finds a new
    // window and gets through.
    let config = Config {
        calls_after_wait: 1,
        ..Config::default()
    };
    let report = run(Scenario::RateLimit, config).await;
    assert_eq!(
        verdicts(&report),
        [
            Success, Success, Success, Failure, Failure, Refused, Success
        ]
    );
    assert_eq!(report.retry_afters(), [Duration::from_secs(1); 2]);
    let rate_limited = report.steps.iter().find_map(|step| match step {
        Step::Call {
            result: Err(e @ UpstreamError::RateLimited { .. }),
            ..
        } => Some(e.to_string()),
        _ => None,
    });
    assert_eq!(
        rate_limited.as_deref(),
        Some("HTTP 429, rate limited; Retry-After: 1 s")
    );
    assert_eq!(
        transitions(&report),
        [
            (Closed, Open, Reason::ConsecutiveFailures(2)),
            (Open, HalfOpen, Reason::OpenElapsed),
            (HalfOpen, Closed, Reason::ProbesSucceeded(1)),
        ]
    );
    assert_eq!(report.hits, 6);
}

#[tokio::test]
async fn empty_answers_do_not_count() {
    let mut config = quick();
    config.upstream.empty_rate = 1.0;
    let report = run(Scenario::EmptyResponse, config).await;
    assert_eq!(verdicts(&report), [Success; 6]);
    assert!(report.steps.iter().all(|step| matches!(
        step,
        Step::Call {
            result: Ok(None),
            ..
        }
    )));
    assert_eq!((report.stats.successes, report.stats.failures), (6, 0));
    assert_eq!(report.phase, Closed);
    assert_eq!(report.hits, 6);
}

#[tokio::test]
async fn the_whole_story_reports_every_scenario_in_order() {
    let mut printed = Vec::new();
    let reports = flaky_upstream::run(quick(), |progress| {
        printed.push(progress.to_string());
    })
    .await
    .unwrap();
    let scenarios: Vec<Scenario> = reports.iter().map(|r| r.scenario).collect();
    assert_eq!(scenarios, Scenario::ALL);
    for report in &reports {
        assert_eq!(
            report.hits, report.stats.calls,
            "{}: the upstream saw exactly the calls that ran",
            report.scenario
        );
        assert!(!report.why.is_empty());
    }
    let opened = |s: Scenario| reports[s as usize].transitions().any(|t| t.to == Open);
    assert!(opened(Scenario::RandomError));
    assert!(opened(Scenario::Timeout));
    assert!(opened(Scenario::RateLimit));
    assert!(!opened(Scenario::NotFound));
    assert!(!opened(Scenario::EmptyResponse));
    // A transition is printed with the call that caused it, before the next call's line.
    assert!(
        printed
            .iter()
            .any(|step| step.contains("counted failure") && step.contains("closed -> open")),
        "{printed:#?}"
    );
    let made = reports.iter().map(|r| r.stats.transitions).sum();
    assert_told_in_order(&printed.join("\n"), made);
}

/// The scenario's steps as the story prints them.
fn printed(report: &ScenarioReport) -> String {
    let steps: Vec<String> = report.steps.iter().map(Step::to_string).collect();
    steps.join("\n")
}

/// Checks that the story, as printed, tells the `made` transitions once each, each on the line
/// after what caused it: a counted failure opens the circuit (the call's, or its last
/// attempt's), the wait ends the open period, and the probe's outcome closes or opens it.
fn assert_told_in_order(printed: &str, made: u64) {
    let mut previous = "";
    let mut call = "";
    let mut told = 0;
    for line in printed.lines().map(str::trim) {
        if let Some(transition) = line.strip_prefix("circuit ") {
            told += 1;
            // What the line before must say, and what the call's own line must say.
            let (previous_says, call_says) = if transition.contains("closed -> open") {
                ("counted failure", "")
            } else if transition.contains("open -> half-open") {
                ("... waited", "")
            } else if transition.contains("half-open -> closed") {
                ("success", "(the probe)")
            } else if transition.contains("half-open -> open") {
                ("counted failure", "(the probe)")
            } else {
                panic!("an unexpected transition: {line}\n{printed}");
            };
            assert!(
                previous.contains(previous_says) && call.contains(call_says),
                "`{line}` follows `{previous}` (of `{call}`), which does not say \
                 `{previous_says}` (and `{call_says}`):\n{printed}"
            );
        } else {
            if line.starts_with("call ") {
                call = line;
            }
            previous = line;
        }
    }
    assert_eq!(told, made, "every transition is told once:\n{printed}");
    assert!(made > 0);
}

// With retries: where they help, where the circuit cuts them short, and what they leave alone.

/// The quick story, each call retried by the example's policy.
fn quick_retrying() -> Config {
    quick().with_retry(flaky_upstream::retries::policy().unwrap())
}

/// Each call's attempts, as (answer, verdict, wait before the next).
fn attempts(report: &ScenarioReport) -> Vec<Vec<(String, Verdict, Option<Duration>)>> {
    report
        .steps
        .iter()
        .filter_map(|step| match step {
            Step::Call { attempts, .. } => Some(
                attempts
                    .iter()
                    .map(|t| (t.answer.clone(), t.verdict, t.next_in))
                    .collect(),
            ),
            Step::Waited { .. } => None,
        })
        .collect()
}

fn tried(
    answer: &str,
    verdict: Verdict,
    next_in_ms: Option<u64>,
) -> (String, Verdict, Option<Duration>) {
    (
        answer.to_owned(),
        verdict,
        next_in_ms.map(Duration::from_millis),
    )
}

#[tokio::test]
async fn retries_answer_more_calls_through_scattered_server_errors() {
    let without = run(Scenario::RandomError, quick()).await;
    let with = run(Scenario::RandomError, quick_retrying()).await;
    assert!(
        with.answered() > without.answered(),
        "answered with retries {}, without {}",
        with.answered(),
        without.answered()
    );
    // A call answered after a 500 shows both attempts, and the wait between them.
    let rescued = attempts(&with)
        .into_iter()
        .filter(|call| call.len() == 2 && call[1].0 == "200")
        .collect::<Vec<_>>();
    assert!(!rescued.is_empty(), "{with}");
    for call in rescued {
        assert_eq!(
            call,
            [tried("500", Failure, Some(50)), tried("200", Success, None)]
        );
    }
    assert_eq!(
        with.hits, with.stats.calls,
        "every attempt that ran reached the upstream"
    );
}

#[tokio::test]
async fn retrying_stops_at_once_when_the_circuit_opens() {
    let mut config = quick_retrying();
    config.upstream.error_rate = 1.0;
    // A circuit that opens before a call's attempts are spent.
    config.client.threshold = 2;
    let report = run(Scenario::RandomError, config).await;
    let calls = attempts(&report);
    // Two 500s open the circuit: the third attempt is not made, nor waited for.
    assert_eq!(
        calls[0],
        [tried("500", Failure, Some(50)), tried("500", Failure, None)]
    );
    // The next calls are refused on their first attempt, and not retried.
    for call in &calls[1..6] {
        assert_eq!(call, &[tried("refused", Refused, None)]);
    }
    // The probe fails once, and opens the circuit again without a retry.
    assert_eq!(calls[6], [tried("500", Failure, None)]);
    assert_eq!(report.hits, 3);
    assert_eq!(report.phase, Open);
    // The trip is printed below the attempt that caused it.
    let printed = printed(&report);
    assert!(
        printed.contains("attempt 2: 500, counted failure\n           circuit"),
        "{printed}"
    );
    assert_told_in_order(&printed, 3);
}

#[tokio::test]
async fn retries_cannot_help_answers_that_time_out_and_the_circuit_stops_them() {
    let report = run(Scenario::Timeout, quick_retrying()).await;
    let calls = attempts(&report);
    assert_eq!(
        calls[0],
        [
            tried("no answer within 100 ms", Failure, Some(50)),
            tried("no answer within 100 ms", Failure, Some(100)),
            tried("no answer within 100 ms", Failure, None)
        ]
    );
    // The open circuit refuses the next calls' first attempts, and they are not retried.
    assert!(
        calls[1..6]
            .iter()
            .all(|call| call.len() == 1 && call[0].1 == Refused)
    );
    assert_eq!(report.answered(), 0);
    assert_eq!(report.hits, 4, "three attempts, then the probe");
    assert_told_in_order(&printed(&report), 3);
}

#[tokio::test]
async fn not_found_is_never_retried() {
    let report = run(Scenario::NotFound, quick_retrying()).await;
    assert_eq!(
        attempts(&report),
        vec![vec![tried("404", Ignored, None)]; 6]
    );
    assert_eq!(report.hits, 6, "one request per call");
    assert_eq!((report.stats.ignored, report.stats.failures), (6, 0));
}

#[tokio::test]
async fn a_retry_honours_retry_after_and_keeps_the_circuit_closed() {
    let report = run(Scenario::RateLimit, quick_retrying()).await;
    let calls = attempts(&report);
    assert_eq!(
        calls.len(),
        6,
        "the circuit never opened: no wait, no more calls"
    );
    assert_eq!(
        calls[3],
        [
            tried("429, Retry-After 1 s", Failure, Some(1000)),
            tried("200", Success, None)
        ]
    );
    assert_eq!(report.answered(), 6);
    assert_eq!(report.stats.transitions, 0);
    assert_eq!(report.phase, Closed);
    assert_eq!(report.hits, 7);
}

#[tokio::test]
async fn empty_answers_are_retried_and_the_last_one_returned_when_every_attempt_is_empty() {
    let with = run(Scenario::EmptyResponse, quick_retrying()).await;
    let without = run(Scenario::EmptyResponse, quick()).await;
    assert!(with.answered() > without.answered(), "{with}\n{without}");

    let mut config = quick_retrying();
    config.upstream.empty_rate = 1.0;
    let report = run(Scenario::EmptyResponse, config).await;
    let every_attempt_empty = [
        tried("204", Success, Some(50)),
        tried("204", Success, Some(100)),
        tried("204", Success, None),
    ];
    assert_eq!(attempts(&report), vec![every_attempt_empty.to_vec(); 6]);
    assert!(report.steps.iter().all(|step| matches!(
        step,
        Step::Call {
            result: Ok(None),
            ..
        }
    )));
    assert_eq!((report.stats.successes, report.stats.failures), (18, 0));
    assert_eq!(report.hits, 18);
}
