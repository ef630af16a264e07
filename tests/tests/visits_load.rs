//! The visits load test, in small: a few users, one-second phases.

use std::time::Duration;

use loadtest::{Answer, LoadConfig, LoadError};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_load_test_sees_the_three_phases() {
    if !tests::redis_server::available() {
        return;
    }
    let config = LoadConfig {
        users: 4,
        phase: Duration::from_secs(2),
        redis_timeout: Duration::from_millis(100),
        open_for: Duration::from_millis(500),
    };
    let run = loadtest::run(&config, true)
        .await
        .expect("the load test runs");
    let [healthy, paused, resumed] = &run.phases;
    // answers: fresh, stale, unavailable, error
    assert!(healthy.answers[0] > 0, "{healthy:?}");
    assert_eq!(&healthy.answers[1..], [0, 0, 0], "{healthy:?}");
    // A request answered by Redis just before the pause may complete just after it.
    let counted_while_paused = run.samples.iter().filter(|s| {
        s.answer == Answer::Fresh && s.began() > run.paused_at && s.at < run.resumed_at
    });
    assert_eq!(
        counted_while_paused.count(),
        0,
        "nothing is counted while Redis is paused"
    );
    assert!(paused.answers[1] > 0, "{paused:?}");
    assert_eq!(&paused.answers[2..], [0, 0], "{paused:?}");
    assert!(
        paused.p50 < config.redis_timeout,
        "most answers do not wait on Redis: {paused:?}"
    );
    assert!(resumed.answers[0] > 0, "{resumed:?}");
    let healed = run.healed_after.expect("counting resumes");
    assert!(healed < config.phase, "{healed:?}");
    // Each whole second's requests, and none of the last, partial second's.
    let per_second: u64 = run.per_second.iter().map(|s| s.requests).sum();
    let whole = Duration::from_secs(run.per_second.len() as u64);
    assert_eq!(
        per_second,
        run.samples.iter().filter(|s| s.at < whole).count() as u64
    );
    assert!(run.paused_at < run.resumed_at);
}

/// Once, a phase under a third of a second gave goose a run time of 0 seconds, which goose takes
/// as "no limit": the load test never stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phase_that_is_not_whole_seconds_is_refused_at_once() {
    for phase in [
        Duration::ZERO,
        Duration::from_millis(300),
        Duration::from_millis(1500),
    ] {
        let config = LoadConfig {
            users: 2,
            phase,
            ..LoadConfig::default()
        };
        let run = tokio::time::timeout(Duration::from_secs(5), loadtest::run(&config, true))
            .await
            .expect("refused at once");
        assert!(
            matches!(run, Err(LoadError::Phase(p)) if p == phase),
            "{run:?}"
        );
    }
}
