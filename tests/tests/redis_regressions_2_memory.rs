//! A regression test from a second review of the Redis store: what a store keeps of circuits that are gone, while it
//! cannot reach Redis. In a file of its own: it measures the process's memory.

use std::time::Duration;

use failfast::{Breaker, RedisStore};
use tests::redis_server::free_port;

/// The process's resident memory, in bytes.
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

/// Makes a breaker per name on `store`, changes its circuit (if `change`), and drops it: a name per
/// tenant or host, as the memory store's docs foresee.
fn churn(store: &RedisStore, tag: &str, names: usize, change: bool) {
    for i in 0..names {
        let breaker = Breaker::builder(format!("{tag}-tenant-{i}"))
            .store(store.clone())
            .build()
            .unwrap();
        if change {
            breaker.force_open(Duration::from_secs(60));
            breaker.reset(); // closed again: the memory store lets the circuit go
        }
    }
}

/// Once (`link.rs` `WorkQueue`, `mod.rs` `RedisStore::link`, `worker.rs` `reconcile`): while
/// the store cannot reach Redis, nothing takes links from its work queue, and every circuit
/// made queues its link: the queue's `Weak<Link>` keeps each link's allocation (a few hundred
/// bytes) however long ago its circuit was dropped. And the link of every circuit that
/// changed and was then dropped is kept whole, keys and change, as long as `has_change()`.
/// With a Redis that never answers (a wrong host, port or password, which the store retries
/// for ever), that is for the life of the process: memory grows with every name ever used,
/// although the memory store let the circuits go. Here, 100 000 names cost about 40 MB
/// (about 100 MB if they changed); the same churn on a `MemoryStore` costs nothing.
#[test]

fn a_store_that_never_connects_keeps_every_name_ever_used() {
    // Nothing listens there: the store never connects.
    let store = RedisStore::new(&format!("redis://127.0.0.1:{}", free_port())).unwrap();
    const NAMES: usize = 100_000;
    churn(&store, "warmup", NAMES, false);
    let before = rss();
    churn(&store, "quiet", NAMES, false);
    let quiet = rss().saturating_sub(before);
    let before = rss();
    churn(&store, "changed", NAMES, true);
    let changed = rss().saturating_sub(before);
    let memory = failfast::MemoryStore::new();
    let before = rss();
    for i in 0..NAMES {
        let breaker = Breaker::builder(format!("memory-tenant-{i}"))
            .store(memory.clone())
            .build()
            .unwrap();
        breaker.force_open(Duration::from_secs(60));
        breaker.reset();
    }
    let in_memory = rss().saturating_sub(before);
    assert!(
        quiet < 10_000_000 && changed < 10_000_000,
        "{NAMES} names, each used once and dropped, with a store that cannot connect: {} MB \
         more memory if their circuits changed, {} MB if they did not; with a MemoryStore: \
         {} MB",
        changed / 1_000_000,
        quiet / 1_000_000,
        in_memory / 1_000_000
    );
}
