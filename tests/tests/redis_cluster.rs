//! The Redis store on a local Redis Cluster of three masters.

use std::time::Duration;

use failfast::{Breaker, RedisStore};
use tests::redis_server::{RedisServer, cluster};
use tests::{SEC, fail, ok, within};

fn store(node: &RedisServer) -> RedisStore {
    let store = RedisStore::builder(&node.url()).cluster().build().unwrap();
    within(5 * SEC, || store.is_connected()).expect("the store connects to the cluster");
    store
}

#[test]
fn circuits_are_shared_through_a_redis_cluster() {
    let Some(nodes) = cluster() else { return };
    let (here, there) = (store(&nodes[0]), store(&nodes[2]));
    let names: Vec<String> = (0..12).map(|i| format!("service-{i}")).collect();
    let build = |store: &RedisStore, name: &String| {
        Breaker::builder(name.clone())
            .store(store.clone())
            .open_for(Duration::from_millis(300))
            .build()
            .unwrap()
    };
    let a: Vec<Breaker> = names.iter().map(|n| build(&here, n)).collect();
    let b: Vec<Breaker> = names.iter().map(|n| build(&there, n)).collect();
    std::thread::sleep(Duration::from_millis(50));
    for (tripped, follower) in a.iter().zip(&b) {
        let _ = tripped.call(fail);
        within(SEC, || follower.state().is_open())
            .unwrap_or_else(|| panic!("{} is shared", follower.name()));
    }
    // The circuits' keys are spread over the masters, each circuit's keys on one of them.
    let holding = nodes
        .iter()
        .filter(|n| {
            redis::cmd("DBSIZE")
                .query::<u64>(&mut n.connection())
                .unwrap()
                > 0
        })
        .count();
    assert!(holding >= 2, "the circuits are spread over the cluster");
    // Probes and closes go through the cluster too.
    for (prober, follower) in b.iter().zip(&a) {
        within(2 * SEC, || prober.call(ok).is_ok()).expect("a probe goes through");
        within(SEC, || follower.state().is_closed())
            .unwrap_or_else(|| panic!("{} closes everywhere", follower.name()));
    }
}

#[test]
fn a_store_pointed_at_a_cluster_node_without_cluster_says_what_to_do() {
    let Some(nodes) = cluster() else { return };
    tests::logs::logs();
    let port = nodes[0].port();
    let plain = RedisStore::new(&nodes[0].url()).unwrap();
    // Some names hash to another node's slots: their scripts are redirected (MOVED).
    let breakers: Vec<Breaker> = (0..12)
        .map(|i| {
            Breaker::builder(format!("service-{i}"))
                .store(plain.clone())
                .build()
                .unwrap()
        })
        .collect();
    within(5 * SEC, || {
        !tests::logs::logged(port, "RedisStoreBuilder::cluster").is_empty()
    })
    .expect("the store says to build it with `.cluster()`");
    within(SEC, || !plain.is_connected()).expect("and does not claim to share circuits");
    let _ = breakers[0].call(fail);
    assert!(breakers[0].state().is_open(), "circuits work locally");
    assert_eq!(
        tests::logs::logged(port, "RedisStoreBuilder::cluster").len(),
        1,
        "said once"
    );
}
