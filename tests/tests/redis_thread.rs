//! The Redis store's background thread: one per store, gone with the store. Alone in its test
//! binary, so that no other test's store is counted.

use failfast::{Breaker, RedisStore};
use tests::redis_server::RedisServer;
use tests::{SEC, within};

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter(|t| {
            let comm = t.as_ref().unwrap().path().join("comm");
            std::fs::read_to_string(comm).unwrap_or_default().trim() == "failfast-redis"
        })
        .count()
}

#[test]
fn a_dropped_store_stops_its_thread() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    assert_eq!(threads(), 0);
    let store = RedisStore::new(&server.url()).unwrap();
    within(5 * SEC, || store.is_connected()).expect("the store connects");
    let breaker = Breaker::builder("short-lived")
        .store(store.clone())
        .build()
        .unwrap();
    let _ = breaker.call(|| Err::<(), _>("down"));
    assert_eq!(threads(), 1, "one thread per store, shared by its clones");
    drop((store, breaker));
    within(SEC, || threads() == 0).expect("the thread ends with the last clone");
}
