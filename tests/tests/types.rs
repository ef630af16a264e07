//! What the types promise: cheap, shareable handles and errors that travel.

use std::time::Duration;

use failfast::{Breaker, Error, Open};

fn send_sync<T: Send + Sync>() {}
fn send<T: Send>(_: &T) {}
fn error_static<T: std::error::Error + Send + Sync + 'static>() {}

#[test]
fn breaker_is_a_cheap_shareable_handle() {
    send_sync::<Breaker>();
    assert_eq!(std::mem::size_of::<Breaker>(), std::mem::size_of::<usize>());
    let a = Breaker::new("handle", Duration::from_secs(1));
    let b = a.clone();
    let _ = a.call(|| Err::<(), _>("down"));
    assert!(b.state().is_open(), "clones share one breaker");
}

#[test]
fn errors_travel_between_threads_and_into_boxed_errors() {
    error_static::<Open>();
    error_static::<Error<std::io::Error>>();
    let breaker = Breaker::new("travel", Duration::from_secs(60));
    breaker.force_open(Duration::from_secs(60));
    let open = breaker.try_acquire().unwrap_err();
    let from_thread = std::thread::spawn(move || open).join().unwrap();
    assert_eq!(from_thread.name(), "travel");
}

#[test]
fn guarded_futures_are_send_when_their_futures_are() {
    let breaker = Breaker::new("spawnable", Duration::from_secs(1));
    let future = breaker.run(async { Ok::<_, std::io::Error>(1) });
    send(&future);
    let permit = breaker.try_acquire().unwrap();
    send(&permit);
    permit.success();
}

#[test]
fn a_call_error_shows_its_own_causes_through_the_breaker() {
    #[derive(Debug, thiserror::Error)]
    #[error("could not load the invoices")]
    struct LoadError(#[source] std::io::Error);

    let breaker = Breaker::new("chain", Duration::from_secs(60));
    let error = breaker
        .call(|| Err::<(), _>(LoadError(std::io::Error::other("connection reset"))))
        .unwrap_err();
    assert_eq!(error.to_string(), "could not load the invoices");
    let source = std::error::Error::source(&error).map(ToString::to_string);
    assert_eq!(source.as_deref(), Some("connection reset"));
    let report = format!("{:#}", anyhow::Error::new(error));
    assert_eq!(report, "could not load the invoices: connection reset");
}

#[test]
fn a_rejection_outlives_its_breaker_and_keeps_its_name() {
    let breaker = Breaker::new(format!("hosts/{}", 7), Duration::from_secs(60));
    breaker.force_open(Duration::from_secs(60));
    let open = breaker.try_acquire().unwrap_err();
    drop(breaker);
    assert_eq!(open.name(), "hosts/7");
    assert!(open.to_string().starts_with("circuit `hosts/7` is open"));
}

#[test]
fn phases_states_reasons_and_transitions_read_as_words() {
    use failfast::{Phase, Reason, State};
    let phases: Vec<String> = [Phase::Closed, Phase::Open, Phase::HalfOpen]
        .iter()
        .map(Phase::to_string)
        .collect();
    assert_eq!(phases, ["closed", "open", "half-open"]);
    assert_eq!(
        format!("[{:<9}]", Phase::Open),
        "[open     ]",
        "padding is honoured"
    );
    assert_eq!(State::HalfOpen.to_string(), "half-open");
    assert_eq!(
        State::Open {
            retry_in: Duration::from_secs(2)
        }
        .to_string(),
        "open, retry in 2s"
    );
    let reasons: Vec<String> = [
        Reason::ConsecutiveFailures(1),
        Reason::ConsecutiveFailures(5),
        Reason::FailureRate(0.5),
        Reason::SlowCallRate(1.0),
        Reason::OpenElapsed,
        Reason::ProbesSucceeded(3),
        Reason::ProbeFailed,
        Reason::Forced,
        Reason::Reset,
        Reason::Remote,
    ]
    .iter()
    .map(Reason::to_string)
    .collect();
    assert_eq!(
        reasons,
        [
            "1 failure",
            "5 failures in a row",
            "failure rate 50.0%",
            "slow-call rate 100.0%",
            "the open period ended",
            "3 probes succeeded",
            "a probe failed",
            "forced open",
            "reset",
            "changed by another process",
        ]
    );

    let (tx, rx) = std::sync::mpsc::channel();
    let breaker = Breaker::builder("words")
        .open_for(Duration::from_millis(1500))
        .on_transition(move |t| tx.send(t.to_string()).unwrap())
        .build()
        .unwrap();
    let _ = breaker.call(|| Err::<(), _>("down"));
    breaker.reset();
    assert_eq!(
        rx.try_iter().collect::<Vec<_>>(),
        [
            "words: closed -> open (1 failure; open for 1.5s)",
            "words: open -> closed (reset)"
        ]
    );
}
