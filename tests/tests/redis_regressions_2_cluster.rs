//! A regression test from a second review of the Redis store, on a local Redis Cluster: a slot that moves.

use std::time::{Duration, Instant};

use failfast::{Breaker, RedisStore};
use tests::redis_server::{RedisServer, cluster};
use tests::{SEC, fail, within};

fn store(node: &RedisServer) -> RedisStore {
    let store = RedisStore::builder(&node.url()).cluster().build().unwrap();
    within(5 * SEC, || store.is_connected()).expect("the store connects to the cluster");
    store
}

fn node_id(node: &RedisServer) -> String {
    redis::cmd("CLUSTER")
        .arg("MYID")
        .query(&mut node.connection())
        .unwrap()
}

/// Moves `slot`, which holds no key, from `from` to `to`, as `redis-cli --cluster reshard`
/// does: importing, migrating, then the new owner set on every node.
fn move_slot(nodes: &[RedisServer], slot: u16, from: &RedisServer, to: &RedisServer) {
    let setslot = |node: &RedisServer, how: &str, id: &str| {
        redis::cmd("CLUSTER")
            .arg("SETSLOT")
            .arg(slot)
            .arg(how)
            .arg(id)
            .query::<()>(&mut node.connection())
            .unwrap();
    };
    let (from_id, to_id) = (node_id(from), node_id(to));
    setslot(to, "IMPORTING", &from_id);
    setslot(from, "MIGRATING", &to_id);
    setslot(to, "NODE", &to_id);
    setslot(from, "NODE", &to_id);
    for node in nodes {
        setslot(node, "NODE", &to_id);
    }
}

/// Once (`worker.rs`: the cluster client is built with `.retries(0)`, and `refusal` and
/// `Failure::misconfiguration` take MOVED/ASK for a store that should have been built with
/// `.cluster()`): on a cluster whose slots move (a reshard, a scale-out, a failover), the
/// first command of a cluster store to a moved slot gets MOVED, which redis-rs surfaces instead
/// of following it. The store drops its connection, logs an ERROR telling to build the store
/// with `RedisStoreBuilder::cluster` (it is built so), and waits 5 s before connecting again:
/// every process of the fleet stops sharing circuits for 5 s at each slot move, and during a
/// migration (ASK) again and again. Here a trip made just after a slot moved has not reached
/// the other process 8 s later: each of the two stores drops out for 5 s, one after the other
/// (the second at its next reconciliation). MOVED and ASK on a cluster connection should be
/// followed (retries, or a slot refresh and one retry), and never hinted as `.cluster()`.
#[test]

fn a_cluster_store_survives_a_slot_moving() {
    let Some(nodes) = cluster() else { return };
    tests::logs::logs();
    let (here, there) = (store(&nodes[0]), store(&nodes[1]));
    let name = "resharded";
    let build = |store: &RedisStore| {
        Breaker::builder(name)
            .store(store.clone())
            .open_for(60 * SEC)
            .build()
            .unwrap()
    };
    let (a, b) = (build(&here), build(&there));
    std::thread::sleep(200 * Duration::from_millis(1));
    let slot: u16 = redis::cmd("CLUSTER")
        .arg("KEYSLOT")
        .arg(format!("failfast:{{{name}}}:state"))
        .query(&mut nodes[0].connection())
        .unwrap();
    // The slot holds no key yet (the circuit is closed and was never written): move it to
    // a node that does not hold it.
    let holder = nodes
        .iter()
        .position(|n| {
            redis::cmd("CLUSTER")
                .arg("COUNTKEYSINSLOT")
                .arg(slot)
                .query::<u64>(&mut n.connection())
                .is_ok()
                && redis::cmd("GET")
                    .arg(format!("failfast:{{{name}}}:state"))
                    .query::<Option<String>>(&mut n.connection())
                    .is_ok()
        })
        .expect("a node holds the slot");
    let to = &nodes[(holder + 1) % nodes.len()];
    move_slot(&nodes, slot, &nodes[holder], to);

    let start = Instant::now();
    let _ = a.call(fail);
    let took = within(8 * SEC, || b.state().is_open());
    let hint: Vec<String> = nodes
        .iter()
        .flat_map(|n| tests::logs::logged(n.port(), "RedisStoreBuilder::cluster"))
        .collect();
    assert!(
        took.is_some_and(|t| t < SEC) && hint.is_empty(),
        "the trip reached the other process after {:?} (started {:?} ago); logged: {hint:?}",
        took,
        start.elapsed()
    );
}
