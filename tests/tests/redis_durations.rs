//! The Redis store with the longest durations a breaker accepts: nothing on the store's thread
//! overflows. Alone in its test binary, as it watches every panic of the process.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use failfast::{Breaker, RedisStore};
use tests::redis_server::RedisServer;
use tests::{SEC, fail, ok, within};

#[test]
fn the_longest_durations_do_not_trouble_the_store() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let panics: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = panics.clone();
    std::panic::set_hook(Box::new(move |info| {
        let thread = std::thread::current().name().unwrap_or("?").to_owned();
        eprintln!("{thread}: {info}");
        seen.lock().unwrap().push(format!("{thread}: {info}"));
    }));
    let store = RedisStore::new(&server.url()).unwrap();
    assert!(store.wait_connected(Duration::MAX));
    let breaker = Breaker::builder("longest")
        .store(store.clone())
        .open_for(Duration::from_millis(100))
        .probe_timeout(Duration::MAX)
        .build()
        .unwrap();
    let _ = breaker.call(fail);
    within(SEC, || breaker.state().is_half_open()).expect("the period ends");
    within(2 * SEC, || breaker.call(ok).is_ok()).expect("a probe runs and closes the circuit");
    assert!(breaker.state().is_closed());
    breaker.force_open(Duration::MAX);
    breaker.reset();
    let other = RedisStore::new(&server.url()).unwrap();
    assert!(other.wait_connected(5 * SEC));
    let follower = Breaker::builder("longest").store(other).build().unwrap();
    breaker.force_open(Duration::MAX);
    within(SEC, || follower.state().is_open()).expect("shared");
    let _ = std::panic::take_hook();
    assert!(
        panics.lock().unwrap().is_empty(),
        "{:?}",
        panics.lock().unwrap()
    );
}
