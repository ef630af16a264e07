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
