//! The Redis store when Redis fails: paused, killed, restarted empty, unreachable at start-up.
//! Calls never wait on Redis and never fail because of it; the store logs each outage once,
//! connects again by itself, and the fleet converges once Redis is back.

use std::time::{Duration, Instant};

use failfast::{Breaker, RedisStore};
use tests::logs::{logged, logs};
use tests::redis_server::{RedisServer, available, free_port};
use tests::{SEC, fail, ok, within};

const MS: Duration = Duration::from_millis(1);

/// The store timeout of these tests: long enough that a call waiting on Redis would stand out
/// from a call delayed by a busy machine.
const TIMEOUT: Duration = Duration::from_millis(200);

fn store(url: &str) -> RedisStore {
    RedisStore::builder(url).timeout(TIMEOUT).build().unwrap()
}

fn connected(store: RedisStore) -> RedisStore {
    within(5 * SEC, || store.is_connected()).expect("the store connects");
    store
}

fn breaker(store: &RedisStore, name: &str) -> Breaker {
    Breaker::builder(name.to_owned())
        .store(store.clone())
        .open_for(30 * SEC)
        .build()
        .unwrap()
}

/// Makes calls through `breaker` for `how_long`; returns the slowest. A call that waited on
/// Redis would take the store timeout, at least.
fn slowest_call(breaker: &Breaker, how_long: Duration) -> Duration {
    let start = Instant::now();
    let mut slowest = Duration::ZERO;
    while start.elapsed() < how_long {
        let call = Instant::now();
        let result = breaker.call(ok);
        slowest = slowest.max(call.elapsed());
        if breaker.state().is_closed() {
            assert_eq!(result.unwrap(), 1, "a closed circuit runs the call");
        }
    }
    slowest
}

#[test]
fn a_paused_redis_holds_up_no_call_and_the_fleet_converges_when_it_resumes() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    logs();
    // Named differently, so that the logs of `here` can be told apart.
    let elsewhere = format!("redis://localhost:{}", server.port());
    let (here, there) = (
        connected(store(&server.url())),
        connected(store(&elsewhere)),
    );
    let (a, b) = (breaker(&here, "orders"), breaker(&there, "orders"));
    std::thread::sleep(20 * MS);

    server.pause();
    // Calls go on, and none waits for Redis, while the store finds out Redis is gone.
    let _ = a.call(fail); // trips here; the push to Redis times out
    let noticed = within(SEC, || !here.is_connected()).expect("the outage is noticed");
    assert!(
        noticed < TIMEOUT + 300 * MS,
        "no wait beyond the store timeout: {noticed:?}"
    );
    assert!(a.state().is_open(), "a went on locally");
    let slowest = slowest_call(&b, 500 * MS);
    assert!(slowest < TIMEOUT / 2, "a call waited on Redis: {slowest:?}");
    assert!(b.state().is_closed(), "b had not heard of the trip");
    assert_eq!(
        logged(server.port(), "lost Redis").len(),
        1,
        "{:?}",
        logs().lock().unwrap()
    );

    server.resume();
    let converged = within(2 * SEC, || b.state().is_open())
        .expect("b hears of the trip made during the outage");
    assert!(converged < SEC, "{converged:?}");
    within(SEC, || here.is_connected() && there.is_connected()).expect("both reconnect");
    assert_eq!(
        logged(server.port(), "lost Redis").len(),
        1,
        "once per outage"
    );
    assert_eq!(logged(server.port(), "Redis is back").len(), 1);
}

#[test]
fn a_redis_restarted_empty_gets_the_open_circuits_back() {
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let (here, there) = (
        connected(store(&server.url())),
        connected(store(&server.url())),
    );
    let (a, b) = (breaker(&here, "billing"), breaker(&there, "billing"));
    std::thread::sleep(20 * MS);
    let _ = a.call(fail);
    within(SEC, || b.state().is_open()).expect("b hears of the trip");

    server.kill();
    within(SEC, || !here.is_connected() && !there.is_connected()).expect("both notice");
    let slowest = slowest_call(&a, 100 * MS);
    assert!(slowest < TIMEOUT / 2, "a call waited on Redis: {slowest:?}");
    server.restart();
    // The record is gone with the restart; the stores push their open circuit again.
    let late = connected(store(&server.url()));
    let c = breaker(&late, "billing");
    let took =
        within(2 * SEC, || c.state().is_open()).expect("a newcomer learns the circuit is open");
    assert!(took < SEC, "{took:?}");
}

#[test]
fn a_store_that_cannot_reach_redis_at_start_works_locally_then_shares() {
    if !available() {
        return;
    }
    let port = free_port();
    let url = format!("redis://127.0.0.1:{port}");
    logs();
    let here = store(&url);
    let a = breaker(&here, "catalog");
    let _ = a.call(fail);
    assert!(a.state().is_open(), "works locally");
    within(SEC, || logged(port, "cannot reach Redis").len() == 1).expect("the outage is logged");

    let mut server = RedisServer::stopped(port, &[]);
    server.restart();
    connected(here.clone());
    let there = connected(store(&url));
    let b = breaker(&there, "catalog");
    within(SEC, || b.state().is_open()).expect("the trip made before Redis answered is shared");
    assert_eq!(logged(port, "cannot reach Redis").len(), 1, "logged once");
}

#[test]
fn credentials_never_show_in_debug_errors_or_logs() {
    let Some(server) = RedisServer::start_with(&["--requirepass", "s3cret-pw"]) else {
        return;
    };
    logs();
    let port = server.port();
    let wrong = store(&format!("redis://:wrong-pw@127.0.0.1:{port}"));
    within(SEC, || {
        !logged(port, "check the user and password").is_empty()
    })
    .expect("the refusal is logged, with what to check");
    let right = connected(store(&format!("redis://:s3cret-pw@127.0.0.1:{port}")));
    assert!(!wrong.is_connected());
    let debug = format!("{wrong:?} {right:?}");
    assert!(
        debug.contains(&format!("redis://:***@127.0.0.1:{port}/0")),
        "{debug}"
    );
    let everything = format!("{debug} {:?}", logs().lock().unwrap());
    for secret in ["wrong-pw", "s3cret-pw"] {
        assert!(!everything.contains(secret), "{secret} shown: {everything}");
    }
    // And the store with the right password works.
    let a = breaker(&right, "vault");
    let b = breaker(
        &connected(store(&format!("redis://:s3cret-pw@127.0.0.1:{port}"))),
        "vault",
    );
    std::thread::sleep(20 * MS);
    let _ = a.call(fail);
    within(SEC, || b.state().is_open()).expect("shared through the password-protected Redis");
}

#[test]
fn a_redis_that_refuses_writes_keeps_the_store_connected_and_is_retried() {
    let settings = ["--maxmemory", "1", "--maxmemory-policy", "noeviction"];
    let Some(server) = RedisServer::start_with(&settings) else {
        return;
    };
    logs();
    let every = 300 * MS;
    let here = RedisStore::builder(&server.url())
        .timeout(TIMEOUT)
        .reconcile_every(every)
        .build()
        .unwrap();
    let here = connected(here);
    let a = breaker(&here, "full");
    let _ = a.call(fail);
    within(SEC, || !logged(server.port(), "refused").is_empty()).expect("the refusal is logged");
    assert!(here.is_connected(), "an error answer is no outage");
    assert!(a.state().is_open(), "the trip holds locally");
    // Out of memory no more: the trip is pushed at the next reconciliation.
    redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg("0")
        .query::<()>(&mut server.connection())
        .unwrap();
    let there = connected(store(&server.url()));
    let b = breaker(&there, "full");
    let took = within(2 * SEC, || b.state().is_open()).expect("the trip reaches the fleet");
    assert!(
        took < every + 200 * MS,
        "at the next reconciliation: {took:?}"
    );
    assert_eq!(logged(server.port(), "refused").len(), 1, "logged once");
    assert!(logged(server.port(), "lost Redis").is_empty());
}

#[test]
fn changes_made_after_an_outage_travel_at_once() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    // No periodic re-read within the test: only pub/sub and the store's own queue carry news.
    let slow_reconcile = |url: &str| {
        RedisStore::builder(url)
            .timeout(TIMEOUT)
            .reconcile_every(60 * SEC)
            .build()
            .unwrap()
    };
    let (here, there) = (
        connected(slow_reconcile(&server.url())),
        connected(slow_reconcile(&server.url())),
    );
    let (a, b) = (breaker(&here, "after"), breaker(&there, "after"));
    std::thread::sleep(20 * MS);
    server.pause();
    let _ = a.call(fail);
    within(SEC, || !here.is_connected()).expect("the outage is noticed");
    a.reset(); // queued for the store while it waits to connect again
    server.resume();
    within(2 * SEC, || here.is_connected()).expect("the store connects again");
    let _ = a.call(fail);
    let took = within(SEC, || b.state().is_open()).expect("the trip travels");
    assert!(took < 100 * MS, "{took:?}");
}
