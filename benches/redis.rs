//! What a store costs a guarded call, in one run: an admitted successful call in a closed
//! circuit and a refused call in an open one, through a breaker with no store, one on a
//! `MemoryStore`, and one on a `RedisStore` connected to a `redis-server` of the benchmark's
//! own (on a free loopback port; skipped, with one line said, if `redis-server` is missing).
//!
//! `cargo bench -p benches --bench redis`
//!
//! The call bodies are those of `benches/breaker.rs`, so the figures compare with its table.
//! The Redis store's background thread talks to Redis while the calls run (its periodic
//! re-read); a call itself reads the circuit in memory, so the three should cost the same.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use failfast::{Breaker, MemoryStore, RedisStore, Store};
use tests::redis_server::RedisServer;

#[path = "calls.rs"]
mod calls;
use calls::{Contender, HOUR, fail};

/// One breaker per case and circuit state, each named by a literal, as in `benches/breaker.rs`.
struct Case {
    label: &'static str,
    closed: Box<dyn Contender>,
    open: Box<dyn Contender>,
}

fn breaker(name: &'static str, store: Option<impl Store + Clone>) -> Breaker {
    let builder = Breaker::builder(name).open_for(HOUR);
    match store {
        Some(store) => builder.store(store),
        None => builder,
    }
    .build()
    .expect("a valid breaker")
}

fn case<S: Store + Clone>(label: &'static str, store: Option<S>) -> Case {
    let closed = breaker("bench-closed", store.clone());
    let open = breaker("bench-open", store);
    let _ = open.call(fail);
    assert!(
        Contender::call(&closed),
        "{label}: the closed breaker admits calls"
    );
    assert!(
        !Contender::call(&open),
        "{label}: the open breaker refuses calls"
    );
    Case {
        label,
        closed: Box::new(closed),
        open: Box::new(open),
    }
}

/// Waits for `condition` for at most `limit`.
fn wait_for(limit: Duration, condition: impl FnMut() -> bool) -> bool {
    tests::within(limit, condition).is_some()
}

fn benches(c: &mut Criterion) {
    let mut cases = vec![
        case::<MemoryStore>("no store", None),
        case("MemoryStore", Some(MemoryStore::new())),
    ];
    // The server is declared before the store, so the store (and its thread) is dropped first.
    let server = RedisServer::start(); // says in one line if redis-server is missing
    let redis = match &server {
        Some(server) => {
            let store = RedisStore::new(&server.url()).expect("a valid URL");
            assert!(
                wait_for(Duration::from_secs(10), || store.is_connected()),
                "{store:?} connects to its redis-server"
            );
            let case = case("RedisStore", Some(store.clone()));
            // The trip reaches Redis, and the store's first reads are done, before measuring.
            let mut conn = server.connection();
            assert!(
                wait_for(Duration::from_secs(5), || {
                    redis::cmd("EXISTS")
                        .arg("failfast:{bench-open}:open")
                        .query::<bool>(&mut conn)
                        .unwrap_or(false)
                }),
                "the trip reaches Redis"
            );
            assert!(store.is_connected() && case.closed.call() && !case.open.call());
            cases.push(case);
            Some(store)
        }
        None => {
            println!("redis-server is not installed: the RedisStore case is skipped");
            None
        }
    };

    let mut group = c.benchmark_group("store, closed");
    for case in &cases {
        group.bench_function(case.label, |b| b.iter(|| black_box(case.closed.call())));
    }
    group.finish();
    let mut group = c.benchmark_group("store, rejected");
    for case in &cases {
        group.bench_function(case.label, |b| b.iter(|| black_box(case.open.call())));
    }
    group.finish();

    if let Some(store) = &redis {
        assert!(
            store.is_connected(),
            "the store stayed connected throughout"
        );
    }
    drop(cases);
    drop(redis);
    drop(server);
}

criterion_group! {
    name = stores;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = benches
}
criterion_main!(stores);
