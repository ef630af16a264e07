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
}
