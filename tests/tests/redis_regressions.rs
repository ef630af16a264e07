//! Regression tests from an adversarial review of the Redis store: each shows a way it once
//! failed (races, late answers, Redis going back in time, hostile settings), and must pass.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use failfast::{Breaker, Listener, Phase, RedisStore, State, Transition};
use tests::redis_server::{RedisServer, cluster, connected, hget, record_is};
use tests::{SEC, fail, ok, refuses, within};

const MS: Duration = Duration::from_millis(1);

/// Calls `breaker` (with `call`) every `every` until one call runs or `limit` passes.
fn one_runs_within(
    breaker: &Breaker,
    limit: Duration,
    every: Duration,
    call: fn() -> Result<u32, &'static str>,
) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if !matches!(breaker.call(call), Err(e) if e.is_open()) {
            return true;
        }
        std::thread::sleep(every);
    }
    false
}

// ---------------------------------------------------------------------------------------------
// 1. A process whose calls come less often than a token waits unused still probes.
// ---------------------------------------------------------------------------------------------

/// A process that calls less often than a token is kept unused still probes: the token its
/// refused call claimed waits for its next call, unless another process wants it.
#[test]
fn a_process_calling_less_often_than_the_token_lease_never_probes() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let store = connected(
        RedisStore::builder(&server.url())
            .reconcile_every(100 * MS)
            .build()
            .unwrap(),
    );
    let b = Breaker::builder("sparse")
        .store(store)
        .open_for(100 * MS)
        .build()
        .unwrap();
    std::thread::sleep(50 * MS);
    let _ = b.call(fail);
    record_is(&server, "sparse", "open");
    std::thread::sleep(200 * MS);
    assert_eq!(b.state(), State::HalfOpen);
    // One call every 1.5 s, for 9 s: the dependency is fine, no other process exists.
    assert!(
        one_runs_within(&b, 9 * SEC, 1500 * MS, ok),
        "no call ran in 9 s: every call was refused while the circuit waited for a probe"
    );
}

// ---------------------------------------------------------------------------------------------
// 2, 3. A local change that is not pushed (or is refused) leaves no circuit half-open
//       against a closed record: the circuit follows the record.
// ---------------------------------------------------------------------------------------------

/// Makes `name`'s record exist and be closed, as after any earlier trip and reset.
fn closed_record(server: &RedisServer, b: &Breaker) {
    let _ = b.call(fail);
    record_is(server, b.name(), "open");
    b.reset();
    record_is(server, b.name(), "closed");
}

/// Saves Redis's data to its RDB file, kills it, and returns once the store has noticed.
fn snapshot_and_kill(server: &mut RedisServer, store: &RedisStore) {
    redis::cmd("SAVE")
        .query::<()>(&mut server.connection())
        .unwrap();
    server.kill();
    within(SEC, || !store.is_connected()).expect("the outage is noticed");
}

/// A trip whose open period ends while Redis is away (restarted from a snapshot where the
/// circuit is closed) leaves the circuit following the record, not half-open for ever.
#[test]
fn a_trip_whose_period_ends_during_an_outage_strands_the_circuit_half_open() {
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let store = connected(
        RedisStore::builder(&server.url())
            .reconcile_every(100 * MS)
            .build()
            .unwrap(),
    );
    let a = Breaker::builder("stranded")
        .store(store.clone())
        .open_for(300 * MS)
        .build()
        .unwrap();
    std::thread::sleep(50 * MS);
    closed_record(&server, &a);

    snapshot_and_kill(&mut server, &store);
    let _ = a.call(fail); // trips locally
    within(SEC, || a.state() == State::HalfOpen).expect("the open period ends");
    server.restart(); // with the snapshot: the record is closed
    within(3 * SEC, || store.is_connected()).expect("the store reconnects");
    std::thread::sleep(300 * MS);

    let mut conn = server.connection();
    let phase = hget(&mut conn, "failfast:{stranded}:state", "phase");
    assert!(
        one_runs_within(&a, 3 * SEC, 10 * MS, ok),
        "Redis is back, the record is {phase:?}, no one probes, and yet every call is \
         refused: state {:?}",
        a.state()
    );
}

/// A probe that fails while Redis is away reopens the circuit locally; the reopen is refused
/// against the closed record, and the circuit follows the record.
#[test]
fn a_probe_failed_during_an_outage_strands_the_circuit_half_open() {
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let store = connected(
        RedisStore::builder(&server.url())
            .reconcile_every(100 * MS)
            .build()
            .unwrap(),
    );
    let a = Breaker::builder("reopened")
        .store(store.clone())
        .open_for(1500 * MS)
        .build()
        .unwrap();
    std::thread::sleep(50 * MS);
    closed_record(&server, &a);

    snapshot_and_kill(&mut server, &store);
    let _ = a.call(fail);
    within(3 * SEC, || a.state() == State::HalfOpen).expect("the open period ends");
    // Redis is away: the probe is granted locally, fails, and reopens the circuit.
    assert!(
        a.call(fail).unwrap_err().into_inner().is_some(),
        "a local probe"
    );
    assert!(a.state().is_open());
    server.restart();
    within(3 * SEC, || store.is_connected()).expect("the store reconnects");
    // The reopen is refused (the record is closed); the circuit follows the record.

    let mut conn = server.connection();
    let phase = hget(&mut conn, "failfast:{reopened}:state", "phase");
    assert!(
        one_runs_within(&a, 3 * SEC, 10 * MS, ok),
        "the record is {phase:?} and no one probes, yet every call is refused: state {:?}",
        a.state()
    );
}

// ---------------------------------------------------------------------------------------------
// 4. A huge probe timeout.
// ---------------------------------------------------------------------------------------------

fn connections_received(conn: &mut redis::Connection) -> u64 {
    let info: String = redis::cmd("INFO").arg("stats").query(conn).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("total_connections_received:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap()
}

/// A huge probe timeout (Duration::MAX) is written as ten years, an integer Redis accepts: it
/// once left a token that never expired and broke every claim of the fleet.
#[test]
fn a_huge_probe_timeout_in_one_process_breaks_the_claims_of_the_fleet() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let (here, there) = (
        connected(RedisStore::new(&server.url()).unwrap()),
        connected(RedisStore::new(&server.url()).unwrap()),
    );
    let a = Breaker::builder("patient")
        .store(here)
        .open_for(100 * MS)
        .probe_timeout(Duration::MAX)
        .build()
        .unwrap();
    let b = Breaker::builder("patient")
        .store(there.clone())
        .open_for(100 * MS)
        .build()
        .unwrap();
    std::thread::sleep(50 * MS);
    let _ = a.call(fail);
    record_is(&server, "patient", "open");
    within(SEC, || {
        a.state() == State::HalfOpen && b.state() == State::HalfOpen
    })
    .expect("the period ends");
    // a wants a probe: its store claims a token with the huge timeout, and a never calls again.
    assert!(refuses(&a));
    let mut conn = server.connection();
    let key = "failfast:{patient}:probes";
    within(SEC, || {
        redis::cmd("EXISTS")
            .arg(key)
            .query::<bool>(&mut conn)
            .unwrap()
    })
    .expect("the token is written");
    let pttl: i64 = redis::cmd("PTTL").arg(key).query(&mut conn).unwrap();
    // b, with a sane probe timeout, calls for 2 s: each time it wants a probe, its claim
    // reads the immortal token.
    let before = connections_received(&mut conn);
    let mut dropped = 0;
    let start = Instant::now();
    while start.elapsed() < 2 * SEC {
        let _ = b.call(fail);
        if !there.is_connected() {
            dropped += 1;
            within(SEC, || there.is_connected());
        }
        std::thread::sleep(10 * MS);
    }
    let reconnections = connections_received(&mut conn) - before;
    assert!(
        pttl != -1 && dropped == 0,
        "probes key PTTL {pttl}; b's store lost its connection {dropped} times \
         ({reconnections} new connections)"
    );
}

// ---------------------------------------------------------------------------------------------
// 5. A claim whose answer comes after the store timeout gives its token back.
// ---------------------------------------------------------------------------------------------

/// A claim whose answer comes after the store timeout may still have been made in Redis: its
/// token is given back, not held until the probe timeout.
#[test]
fn a_claim_answered_late_leaks_the_token_until_the_probe_timeout() {
    let Some(server) = RedisServer::start_with(&["--enable-debug-command", "yes"]) else {
        return;
    };
    // No reconciliation during the test: nothing else talks to Redis while it sleeps.
    let store = connected(
        RedisStore::builder(&server.url())
            .reconcile_every(30 * SEC)
            .build()
            .unwrap(),
    );
    let b = Breaker::builder("late")
        .store(store.clone())
        .open_for(200 * MS)
        .probe_timeout(10 * SEC)
        .build()
        .unwrap();
    std::thread::sleep(50 * MS);
    let _ = b.call(fail);
    record_is(&server, "late", "open");
    // A first half-open period loads the claim script into Redis; its probe fails.
    assert!(one_runs_within(&b, 2 * SEC, MS, fail));
    within(SEC, || b.state() == State::HalfOpen).expect("half-open again");

    let sleeper = {
        let mut conn = server.connection();
        std::thread::spawn(move || {
            redis::cmd("DEBUG")
                .arg("SLEEP")
                .arg("0.5")
                .query::<()>(&mut conn)
                .unwrap();
        })
    };
    std::thread::sleep(50 * MS);
    assert!(
        refuses(&b),
        "no token yet: the claim is sent, and answered late"
    );
    sleeper.join().unwrap();
    within(3 * SEC, || store.is_connected()).expect("the store reconnects");
    let mut conn = server.connection();
    let held: Vec<String> = redis::cmd("ZRANGE")
        .arg("failfast:{late}:probes")
        .arg(0)
        .arg(-1)
        .query(&mut conn)
        .unwrap();

    assert!(
        one_runs_within(&b, 4 * SEC, 10 * MS, ok),
        "no probe for 4 s after Redis woke up: token(s) {held:?} claimed by the timed-out \
         claim are held until the 10 s probe timeout"
    );
}

// ---------------------------------------------------------------------------------------------
// 6. A record older than the one known is followed, and claims do not spin.
// ---------------------------------------------------------------------------------------------

fn evalsha_calls(conn: &mut redis::Connection) -> u64 {
    let info: String = redis::cmd("INFO").arg("commandstats").query(conn).unwrap();
    let count = |name: &str| {
        info.lines()
            .find(|l| l.starts_with(&format!("cmdstat_{name}:")))
            .and_then(|l| l.split("calls=").nth(1))
            .and_then(|v| v.split(',').next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    count("evalsha") + count("eval")
}

/// Redis can go back to an older record (a restart from an older snapshot, a failover to a
/// replica behind): an answer is the record as it stands, older or not, and claims follow it
/// instead of spinning. Here the older record is written by hand.
#[test]
fn an_older_record_after_a_restart_from_a_snapshot_makes_claims_spin() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let store = connected(RedisStore::new(&server.url()).unwrap());
    let a = Breaker::builder("snapshot")
        .store(store)
        .open_for(200 * MS)
        .build()
        .unwrap();
    std::thread::sleep(50 * MS);
    let _ = a.call(fail); // the record: open, generation 1
    record_is(&server, "snapshot", "open");
    a.reset(); // generation 2, closed: this process knows generation 2
    record_is(&server, "snapshot", "closed");
    let mut conn = server.connection();
    // Redis comes back with the snapshot taken after the trip and before the reset; the open
    // period has ended since.
    let key = "failfast:{snapshot}:state";
    redis::cmd("HSET")
        .arg(key)
        .arg("gen")
        .arg(1)
        .arg("phase")
        .arg("open")
        .arg("by")
        .arg(12345)
        .query::<()>(&mut conn)
        .unwrap();
    redis::cmd("DEL")
        .arg("failfast:{snapshot}:open")
        .query::<()>(&mut conn)
        .unwrap();

    // A trip here is refused by Redis (the record is not closed) and answered with the old
    // record, which this process ignores; its circuit opens locally, and then wants a probe.
    let _ = a.call(fail);
    within(SEC, || a.state() == State::HalfOpen).expect("the local period ends");
    let before = evalsha_calls(&mut conn);
    let probed = one_runs_within(&a, 2 * SEC, 10 * MS, ok);
    let sent = evalsha_calls(&mut conn) - before;
    assert!(
        probed && sent < 500,
        "probed: {probed}; scripts sent in about 2 s: {sent}"
    );
}

// ---------------------------------------------------------------------------------------------
// 7. The store's thread runs no listener.
// ---------------------------------------------------------------------------------------------

/// A listener that records the threads it runs on, and panics on the move to half-open.
#[derive(Default)]
struct Fragile {
    threads: Mutex<Vec<String>>,
    panic: AtomicBool,
}

impl Listener for Fragile {
    fn on_transition(&self, t: &Transition) {
        let thread = std::thread::current().name().unwrap_or("?").to_owned();
        self.threads.lock().unwrap().push(thread);
        if t.to == Phase::HalfOpen && self.panic.load(Ordering::SeqCst) {
            panic!("a listener's bug");
        }
    }
}

/// The store's thread never runs listeners, even when it reads a circuit whose open period
/// has ended without an alarm: a listener that panicked there once killed the store.
#[test]
fn a_listener_never_runs_on_the_store_thread() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let (here, there) = (
        connected(RedisStore::new(&server.url()).unwrap()),
        connected(RedisStore::new(&server.url()).unwrap()),
    );
    let clock = tests::PlainClock::default();
    let fragile = Arc::new(Fragile::default());
    fragile.panic.store(true, Ordering::SeqCst);
    let a = Breaker::builder("listened")
        .store(here.clone())
        .clock(clock.clone())
        .open_for(10 * SEC)
        .listener(fragile.clone())
        .build()
        .unwrap();
    let b = Breaker::builder("listened")
        .store(there)
        .open_for(10 * SEC)
        .build()
        .unwrap();
    std::thread::sleep(50 * MS);
    let _ = a.call(fail);
    record_is(&server, "listened", "open");
    clock.set_secs(60); // a's period is over; nothing has looked at a since
    // Any record the store follows makes it read a's state: here, b's reset.
    b.reset();
    // A bound, not a timing claim: on a loaded machine the relay took over 1 s once.
    within(10 * SEC, || fragile.threads.lock().unwrap().len() >= 2).expect("a hears something");
    std::thread::sleep(200 * MS);
    let threads = fragile.threads.lock().unwrap().clone();
    // Does the store still work? b's trip should reach a.
    let _ = b.call(fail);
    let heard = within(2 * SEC, || a.state().is_open()).is_some();
    assert!(
        heard && !threads.iter().any(|t| t == "failfast-redis"),
        "listener threads: {threads:?}; a heard of b's trip: {heard}; a's store says \
         connected: {}",
        here.is_connected()
    );
}

// ---------------------------------------------------------------------------------------------
// 8. The empty name on Redis Cluster.
// ---------------------------------------------------------------------------------------------

/// The empty name has a hash tag too, so its keys share a slot on Redis Cluster.
#[test]
fn the_empty_name_is_shared_through_a_redis_cluster() {
    let Some(nodes) = cluster() else { return };
    let store =
        |node: &RedisServer| connected(RedisStore::builder(&node.url()).cluster().build().unwrap());
    let (here, there) = (store(&nodes[0]), store(&nodes[2]));
    let build = |store: &RedisStore| {
        Breaker::builder("")
            .store(store.clone())
            .open_for(30 * SEC)
            .build()
            .unwrap()
    };
    let (a, b) = (build(&here), build(&there));
    std::thread::sleep(50 * MS);
    let _ = a.call(fail);
    assert!(
        within(2 * SEC, || b.state().is_open()).is_some(),
        "the trip of the circuit named \"\" never reaches the other store"
    );
}

// ---------------------------------------------------------------------------------------------
// 9. A finished probe gives back its own token.
// ---------------------------------------------------------------------------------------------

/// Calls that block until released, counting how many run at once.
#[derive(Default)]
struct Dependency {
    running: std::sync::atomic::AtomicU32,
    most: std::sync::atomic::AtomicU32,
}

impl Dependency {
    fn enter(&self) {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
    }

    fn leave(&self) {
        self.running.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Starts a thread that calls `breaker` until one call runs; that call holds until `release`.
fn hold_a_probe(
    breaker: &Breaker,
    dependency: &Arc<Dependency>,
    release: &Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    let (breaker, dependency, release) = (breaker.clone(), dependency.clone(), release.clone());
    std::thread::spawn(move || {
        let deadline = Instant::now() + 5 * SEC;
        while Instant::now() < deadline {
            let ran = breaker.call(|| {
                dependency.enter();
                while !release.load(Ordering::SeqCst) {
                    std::thread::sleep(MS);
                }
                dependency.leave();
                ok()
            });
            if !matches!(ran, Err(e) if e.is_open()) {
                return;
            }
            std::thread::sleep(MS);
        }
        panic!("no probe ran");
    })
}

/// A probe of an earlier half-open period that ends while a probe of the current one runs
/// gives back its own token, not the running probe's: the fleet never exceeds `probes`.
#[test]
fn an_old_probe_ending_gives_back_the_token_of_a_running_one() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let store = || {
        connected(
            RedisStore::builder(&server.url())
                .reconcile_every(100 * MS)
                .build()
                .unwrap(),
        )
    };
    let build = |store: RedisStore| {
        Breaker::builder("one-probe")
            .store(store)
            .open_for(200 * MS)
            .probe_timeout(30 * SEC)
            .build()
            .unwrap()
    };
    let (a, b) = (build(store()), build(store()));
    let dependency = Arc::new(Dependency::default());
    std::thread::sleep(50 * MS);
    let _ = a.call(fail);
    within(SEC, || {
        a.state() == State::HalfOpen && b.state() == State::HalfOpen
    })
    .expect("the period ends");

    // a's first probe runs, and holds.
    let first = Arc::new(AtomicBool::new(false));
    let p1 = hold_a_probe(&a, &dependency, &first);
    within(2 * SEC, || dependency.running.load(Ordering::SeqCst) == 1).expect("p1 runs");
    // The circuit moves on meanwhile (here a reset and a new trip; any change does it).
    a.reset();
    record_is(&server, "one-probe", "closed");
    let _ = a.call(fail);
    within(SEC, || {
        a.state() == State::HalfOpen && b.state() == State::HalfOpen
    })
    .expect("half-open again");
    // a's probe of the new period runs, and holds.
    let second = Arc::new(AtomicBool::new(false));
    let p2 = hold_a_probe(&a, &dependency, &second);
    within(2 * SEC, || dependency.running.load(Ordering::SeqCst) == 2).expect("p2 runs");
    // The old probe ends (its outcome is stale, as it should be).
    first.store(true, Ordering::SeqCst);
    p1.join().unwrap();
    dependency.most.store(1, Ordering::SeqCst);

    // b wants a probe for 3 s; with p2 running, the fleet's only token is p2's.
    let start = Instant::now();
    while start.elapsed() < 3 * SEC {
        let _ = b.call(|| {
            dependency.enter();
            std::thread::sleep(5 * MS);
            dependency.leave();
            ok()
        });
        if dependency.most.load(Ordering::SeqCst) > 1 {
            break;
        }
        std::thread::sleep(10 * MS);
    }
    second.store(true, Ordering::SeqCst);
    p2.join().unwrap();
    let most = dependency.most.load(Ordering::SeqCst);
    assert_eq!(most, 1, "{most} probes ran at once with probes(1)");
}

// ---------------------------------------------------------------------------------------------
// 10. A breaker made again follows its store's own record.
// ---------------------------------------------------------------------------------------------

/// A breaker made again in the same store (its circuit was let go) follows the record its
/// store wrote before: here the fleet is half-open, and the new breaker waits for a token.
#[test]
fn a_breaker_made_again_learns_the_record_its_own_store_wrote() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let here = connected(RedisStore::new(&server.url()).unwrap());
    let build = |store: &RedisStore| {
        Breaker::builder("remade")
            .store(store.clone())
            .open_for(200 * MS)
            .build()
            .unwrap()
    };
    let a = build(&here);
    std::thread::sleep(50 * MS);
    let _ = a.call(fail);
    record_is(&server, "remade", "open");
    within(SEC, || a.state() == State::HalfOpen).expect("the period ends");
    drop(a); // the memory store lets the half-open circuit go

    let again = build(&here);
    std::thread::sleep(200 * MS); // its first read is done
    let there = connected(RedisStore::new(&server.url()).unwrap());
    let b = build(&there);
    within(SEC, || b.state() == State::HalfOpen).expect("a newcomer elsewhere learns it");
    assert_eq!(
        again.state(),
        State::HalfOpen,
        "the fleet's circuit is half-open (as b knows), but the breaker made again in the \
         store that wrote the record is {:?}",
        again.state()
    );
}

// ---------------------------------------------------------------------------------------------
// 11. A reset followed at once by a trip reaches the fleet.
// ---------------------------------------------------------------------------------------------

/// A reset followed at once by a trip, before either is pushed, opens the fleet's circuit:
/// a trip alone would be refused against the open record the reset was meant to close.
#[test]
fn a_reset_then_a_trip_reach_the_fleet() {
    let Some(server) = RedisServer::start_with(&["--enable-debug-command", "yes"]) else {
        return;
    };
    let b = Breaker::builder("coalesced")
        .store(connected(RedisStore::new(&server.url()).unwrap()))
        .open_for(200 * MS)
        .build()
        .unwrap();
    // a's store waits up to 2 s for Redis: a slow answer keeps its thread busy, no more.
    let here = connected(
        RedisStore::builder(&server.url())
            .timeout(2 * SEC)
            .build()
            .unwrap(),
    );
    let a = Breaker::builder("coalesced")
        .store(here.clone())
        .open_for(30 * SEC)
        .build()
        .unwrap();
    let other = Breaker::builder("other")
        .store(here.clone())
        .build()
        .unwrap();
    std::thread::sleep(50 * MS);
    let _ = b.call(fail);
    record_is(&server, "coalesced", "open");
    within(SEC, || {
        a.state() == State::HalfOpen && b.state() == State::HalfOpen
    })
    .expect("the period ends");

    // Redis is slow for a moment, while a's store pushes another circuit's trip.
    let sleeper = {
        let mut conn = server.connection();
        std::thread::spawn(move || {
            redis::cmd("DEBUG")
                .arg("SLEEP")
                .arg("0.5")
                .query::<()>(&mut conn)
                .unwrap();
        })
    };
    std::thread::sleep(50 * MS);
    let _ = other.call(fail);
    std::thread::sleep(50 * MS);
    // Meanwhile an operator resets a, and the next call fails.
    a.reset();
    let _ = a.call(fail);
    assert!(a.state().is_open());
    sleeper.join().unwrap();
    let heard = within(2 * SEC, || b.state().is_open()).is_some();
    let mut conn = server.connection();
    let phase = hget(&mut conn, "failfast:{coalesced}:state", "phase");
    assert!(
        heard,
        "b is {:?}, the record is {phase:?} (its period over), a is {:?}; a's store \
         connected: {}",
        b.state(),
        a.state(),
        here.is_connected()
    );
}
