//! Regression tests from a second adversarial review of the Redis store: each shows a way the
//! store failed after the first review's fixes (probe tokens passed back and forth, failovers,
//! slow listeners, lost or repeated changes, quiet logs), and must pass. Each test's comment
//! tells how it once failed.

use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::time::{Duration, Instant};

use failfast::{Breaker, RedisStore, State};
use tests::redis_server::{RedisServer, connected, hget, record_is};
use tests::{SEC, fail, ok, within};

const MS: Duration = Duration::from_millis(1);

/// Whether a call ran (was not refused).
fn ran(breaker: &Breaker) -> bool {
    !matches!(breaker.call(ok), Err(e) if e.is_open())
}

// ---------------------------------------------------------------------------------------------
// A. Two processes taking turns steal the fleet's only token from each other for ever.
// ---------------------------------------------------------------------------------------------

/// Once: with `probes(1)` and two processes whose calls alternate (a load balancer's round
/// robin), no probe is ever sent. A's refused call claims the token; before A calls again,
/// B's refused call asks for it (claim.lua publishes "wanted"), A gives its unused token back,
/// and B claims it; then A's next call finds no token, is refused, and takes it back from B.
/// Every call of the fleet is refused, the dependency is never probed, and the circuit stays
/// half-open for as long as the traffic alternates.
#[test]

fn two_processes_taking_turns_never_probe() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let build = || {
        Breaker::builder("turns")
            .store(connected(RedisStore::new(&server.url()).unwrap()))
            .open_for(200 * MS)
            .probe_timeout(10 * SEC)
            .build()
            .unwrap()
    };
    let (a, b) = (build(), build());
    std::thread::sleep(50 * MS);
    let _ = a.call(fail);
    record_is(&server, "turns", "open");
    within(SEC, || {
        a.state() == State::HalfOpen && b.state() == State::HalfOpen
    })
    .expect("the period ends");

    // The dependency is fine. The two processes take turns, a call every 25 ms in all.
    let (mut runs, mut calls) = (0, 0);
    let start = Instant::now();
    while start.elapsed() < 4 * SEC && runs == 0 {
        for breaker in [&a, &b] {
            calls += 1;
            runs += u32::from(ran(breaker));
            std::thread::sleep(25 * MS);
        }
    }
    assert!(
        runs > 0,
        "{calls} calls in 4 s, alternating between two processes: all refused; a is {:?}, \
         b is {:?}",
        a.state(),
        b.state()
    );
}

// ---------------------------------------------------------------------------------------------
// B. A process that calls less often than half the probe timeout never probes.
// ---------------------------------------------------------------------------------------------

/// Once: a token with less than half its ttl left is given back, and the call that finds it so
/// is refused and claims a new one. A process whose calls come more than `probe_timeout / 2`
/// apart (with the default 60 s: a call every 31 s or more) therefore never probes: each call
/// is refused, and the token it claims is stale by the next call. The circuit stays half-open
/// for ever although the dependency is fine and no other process exists.
#[test]

fn calls_further_apart_than_half_the_probe_timeout_never_probe() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let b = Breaker::builder("sparse-ttl")
        .store(connected(RedisStore::new(&server.url()).unwrap()))
        .open_for(100 * MS)
        .probe_timeout(2 * SEC) // as the default 60 s with calls every 45 s, only faster
        .build()
        .unwrap();
    std::thread::sleep(50 * MS);
    let _ = b.call(fail);
    record_is(&server, "sparse-ttl", "open");
    within(SEC, || b.state() == State::HalfOpen).expect("the period ends");
    let mut calls = 0;
    let start = Instant::now();
    let mut probed = false;
    while start.elapsed() < 8 * SEC && !probed {
        calls += 1;
        probed = ran(&b);
        std::thread::sleep(1500 * MS);
    }
    assert!(
        probed,
        "{calls} calls, 1.5 s apart, with a 2 s probe timeout: all refused; b is {:?}",
        b.state()
    );
}

// ---------------------------------------------------------------------------------------------
// C. After a failover, a store keeps its connection to the demoted primary for ever.
// ---------------------------------------------------------------------------------------------

/// A TCP proxy on loopback, standing for a DNS name or a load balancer in front of "the
/// primary": each new connection goes to the server `target` names at that moment; existing
/// connections stay where they are.
fn proxy(target: Arc<AtomicU16>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { continue };
            let Ok(server) = TcpStream::connect(("127.0.0.1", target.load(Ordering::SeqCst)))
            else {
                continue;
            };
            for (mut from, mut to) in [
                (client.try_clone().unwrap(), server.try_clone().unwrap()),
                (server, client),
            ] {
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut from, &mut to);
                    let _ = to.shutdown(std::net::Shutdown::Both);
                });
            }
        }
    });
    port
}

/// Once (`worker.rs` `refusal`): a READONLY error answer is taken for a refusal of one
/// operation, and the connection is kept. After a failover (Sentinel, a managed Redis), the
/// old primary becomes a replica and keeps the store's connection open: every change the
/// store pushes is refused, for as long as the process lives, while a new connection (the
/// same URL) would reach the new primary. Pub/sub still works through the replica, so the
/// store keeps following the fleet and looks healthy (`is_connected()` is true); the only
/// sign is a warning once a minute. Killing the old primary's "normal" clients (as Sentinel
/// does) does not help: a subscribed RESP3 connection is a "pubsub" client. Here the trip of
/// `a` never reaches the fleet. READONLY (and MASTERDOWN) should end the connection.
#[test]

fn after_a_failover_the_store_keeps_writing_to_the_demoted_primary() {
    let (Some(old), Some(new)) = (RedisServer::start(), RedisServer::start()) else {
        return;
    };
    let target = Arc::new(AtomicU16::new(old.port()));
    let url = format!("redis://127.0.0.1:{}", proxy(target.clone()));
    let here = connected(
        RedisStore::builder(&url)
            .reconcile_every(200 * MS)
            .build()
            .unwrap(),
    );
    let a = Breaker::builder("failover")
        .store(here.clone())
        .open_for(60 * SEC)
        .build()
        .unwrap();
    std::thread::sleep(50 * MS);

    // The failover: the old primary becomes a replica of the new one, and the name in the
    // URL now leads to the new primary.
    redis::cmd("REPLICAOF")
        .arg("127.0.0.1")
        .arg(new.port())
        .query::<()>(&mut old.connection())
        .unwrap();
    target.store(new.port(), Ordering::SeqCst);
    // Sentinel also kills the demoted primary's clients of type "normal"; the store's
    // connection, subscribed, is of type "pubsub" and survives that.
    redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("normal")
        .query::<()>(&mut old.connection())
        .unwrap_or(());
    let there = connected(RedisStore::new(&new.url()).unwrap());
    let b = Breaker::builder("failover")
        .store(there)
        .open_for(60 * SEC)
        .build()
        .unwrap();
    std::thread::sleep(200 * MS);

    let _ = a.call(fail);
    let heard = within(3 * SEC, || b.state().is_open()).is_some();
    assert!(
        heard,
        "a tripped 3 s ago (15 reconciliations); b, on the new primary, is {:?}; a's store \
         says connected: {}; the record on the new primary: {:?}",
        b.state(),
        here.is_connected(),
        hget(&mut new.connection(), "failfast:{failover}:state", "phase")
    );
}

// ---------------------------------------------------------------------------------------------
// D. An outage that starts within a minute of connecting is never logged above DEBUG.
// ---------------------------------------------------------------------------------------------

/// Once (`worker.rs` `Outage::begin`/`end`): whether an outage is "flapping" is decided once,
/// when it begins, from `last_end`, which `end` also sets on the *first* connection. So an
/// outage that begins less than a minute after the store connected (or after Redis last came
/// back) is logged at DEBUG, start and end, however long it lasts: a process that starts, and
/// whose Redis then goes away for good 30 s later, never warns. (The commit says "a Redis that
/// keeps coming and going warns once a minute"; here it never warns at all.) Takes 70 s.
#[test]

fn a_long_outage_soon_after_connecting_is_never_warned_of() {
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    tests::logs::logs();
    let port = server.port();
    let here = connected(RedisStore::new(&server.url()).unwrap());
    let loud = || {
        tests::logs::logged(port, "")
            .into_iter()
            .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
            .collect::<Vec<_>>()
    };
    std::thread::sleep(SEC);
    // Redis goes away for good (here: 70 s).
    server.kill();
    within(2 * SEC, || !here.is_connected()).expect("the outage is noticed");
    within(15 * SEC, || !loud().is_empty()).unwrap_or_else(|| {
        panic!(
            "Redis has been unreachable for 15 s, and nothing was logged above DEBUG: {:?}",
            tests::logs::logged(port, "")
        )
    });
}

// ---------------------------------------------------------------------------------------------
// E. A slow listener on one circuit holds up the fleet's news for every other circuit.
// ---------------------------------------------------------------------------------------------

/// A listener that takes `0` to hear a transition from the fleet.
struct Slow(Duration);

impl failfast::Listener for Slow {
    fn on_transition(&self, t: &failfast::Transition) {
        if t.reason == failfast::Reason::Remote {
            std::thread::sleep(self.0);
        }
    }
}

/// Once (`link.rs` `Link::follow`, "quiet"): a transition that follows the fleet counts in
/// `transitions()` at once but is heard by the link only when the `failfast-events` thread
/// delivers it, one circuit after another, after the listeners of every circuit queued before.
/// Until then the link is not "quiet" and ignores every message and reconciliation; and once
/// it is heard, nothing reads the record again before the next message or reconciliation.
/// So one slow listener, on any circuit, keeps every other circuit of the process from
/// following the fleet: here `y` stays open for seconds after the fleet closed it, although
/// `y` has no listener. (A listener that never returns does it for ever.) The store's docs
/// say a listener that blocks "cannot hold up the store".
#[test]

fn a_slow_listener_on_one_circuit_holds_up_the_fleet_for_the_others() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let (here, there) = (
        connected(RedisStore::new(&server.url()).unwrap()),
        connected(RedisStore::new(&server.url()).unwrap()),
    );
    let build = |store: &RedisStore, name: &'static str| {
        Breaker::builder(name)
            .store(store.clone())
            .open_for(60 * SEC)
            .build()
            .unwrap()
    };
    let x = Breaker::builder("x")
        .store(here.clone())
        .open_for(60 * SEC)
        .listener(Arc::new(Slow(4 * SEC)))
        .build()
        .unwrap();
    let y = build(&here, "y");
    let (x2, y2) = (build(&there, "x"), build(&there, "y"));
    std::thread::sleep(100 * MS);
    let _ = x2.call(fail); // x follows the fleet; its listener takes 4 s
    within(SEC, || x.state().is_open()).expect("x follows the fleet");
    let _ = y2.call(fail);
    within(SEC, || y.state().is_open()).expect("y follows the fleet");
    y2.reset();
    record_is(&server, "y", "closed");
    let took = within(3 * SEC, || y.state().is_closed());
    assert!(
        took.is_some(),
        "the fleet closed y 3 s ago; y is {:?} (x's listener sleeps 4 s)",
        y.state()
    );
}

// ---------------------------------------------------------------------------------------------
// F. A breaker dropped while its process holds an unused token: the fleet waits out the ttl.
// ---------------------------------------------------------------------------------------------

/// Once (`worker.rs` `serve_link`: `if circuit.is_none() { return Ok(None) }` comes before the
/// releases; `Link::inherit` takes no tokens): a token claimed for a process's next call is
/// never given back if the breaker is dropped first (a breaker per request, a breaker built
/// again on a configuration reload). The half-open circuit is let go, its link is pruned with
/// the token still held in Redis; a "wanted" message finds the link but its release is
/// skipped. The whole fleet (with `probes(1)`) cannot probe until the token expires, after
/// the probe timeout (60 s by default; 20 s here), and every call everywhere is refused.
#[test]

fn a_breaker_dropped_with_an_unused_token_blocks_the_fleet_until_the_token_expires() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let store = || {
        connected(
            RedisStore::builder(&server.url())
                .reconcile_every(200 * MS)
                .build()
                .unwrap(),
        )
    };
    let build = |store: &RedisStore| {
        Breaker::builder("dropped")
            .store(store.clone())
            .open_for(200 * MS)
            .probe_timeout(20 * SEC)
            .build()
            .unwrap()
    };
    let (here, there) = (store(), store());
    let (a, b) = (build(&here), build(&there));
    std::thread::sleep(50 * MS);
    let _ = a.call(fail);
    record_is(&server, "dropped", "open");
    within(SEC, || {
        a.state() == State::HalfOpen && b.state() == State::HalfOpen
    })
    .expect("the period ends");
    assert!(!ran(&a), "a's first call claims a token for a's next call");
    let mut conn = server.connection();
    within(SEC, || {
        redis::cmd("ZCARD")
            .arg("failfast:{dropped}:probes")
            .query::<u32>(&mut conn)
            .unwrap()
            == 1
    })
    .expect("a's token is held");
    drop(a); // the request, or the configuration, that made `a` is done with it
    std::thread::sleep(500 * MS);

    // b's process (and a breaker made again in a's process) want to probe; the dependency is fine.
    let again = build(&here);
    within(SEC, || again.state() == State::HalfOpen).expect("made again, it learns the record");
    let mut runs = 0;
    let start = Instant::now();
    while start.elapsed() < 4 * SEC && runs == 0 {
        runs += u32::from(ran(&b)) + u32::from(ran(&again));
        std::thread::sleep(20 * MS);
    }
    let held: Vec<String> = redis::cmd("ZRANGE")
        .arg("failfast:{dropped}:probes")
        .arg(0)
        .arg(-1)
        .query(&mut conn)
        .unwrap();
    assert!(
        runs > 0,
        "no probe in 4 s: token(s) {held:?} of the dropped breaker are held until the 20 s \
         probe timeout"
    );
}

// ---------------------------------------------------------------------------------------------
// G. Breakers made per request ignore a half-open fleet.
// ---------------------------------------------------------------------------------------------

/// Once (`mod.rs` `RedisStore::released` delegates to the memory store, which keeps only open
/// circuits): a half-open circuit is let go as soon as its last breaker is dropped. A process
/// that makes a breaker per request (or per job) gets a fresh, closed circuit each time, and
/// each call runs before the store has read the record: the fleet's half-open limit
/// (`probes(1)`) does not hold, while another process's probe is still running. (An open
/// circuit is kept, so this is particular to half-open; the store's docs promise that "the
/// fleet as a whole sends at most `probes` calls to the dependency at a time".)
#[test]

fn breakers_made_per_request_ignore_a_half_open_fleet() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let build = |store: &RedisStore| {
        Breaker::builder("per-request")
            .store(store.clone())
            .open_for(200 * MS)
            .probe_timeout(30 * SEC)
            .build()
            .unwrap()
    };
    let (here, there) = (
        connected(RedisStore::new(&server.url()).unwrap()),
        connected(RedisStore::new(&server.url()).unwrap()),
    );
    let b = build(&there);
    std::thread::sleep(50 * MS);
    let _ = b.call(fail);
    record_is(&server, "per-request", "open");
    within(SEC, || b.state() == State::HalfOpen).expect("the period ends");
    // b's probe runs, and holds the fleet's only token for a while.
    let release = Arc::new(AtomicBool::new(false));
    let probing = {
        let (b, release) = (b.clone(), release.clone());
        std::thread::spawn(move || {
            let start = Instant::now();
            while start.elapsed() < 3 * SEC {
                let ran = b.call(|| {
                    while !release.load(Ordering::SeqCst) {
                        std::thread::sleep(MS);
                    }
                    ok()
                });
                if !matches!(ran, Err(e) if e.is_open()) {
                    return true;
                }
                std::thread::sleep(5 * MS);
            }
            false
        })
    };
    std::thread::sleep(300 * MS); // b's probe is running

    // Meanwhile, in another process, twenty requests, each with a breaker of its own.
    let mut ran_here = 0;
    for _ in 0..20 {
        let per_request = build(&here);
        ran_here += u32::from(ran(&per_request));
        drop(per_request);
        std::thread::sleep(20 * MS);
    }
    release.store(true, Ordering::SeqCst);
    assert!(probing.join().unwrap(), "b probes");
    // The first breaker's call may run before its store has read the record (a breaker learns
    // of the fleet a moment after it is made); the breakers made after it start where the
    // fleet is.
    assert!(
        ran_here <= 1,
        "{ran_here} of 20 calls ran in another process while b's probe held the fleet's only \
         token"
    );
}

// ---------------------------------------------------------------------------------------------
// H. A reset whose answer was lost is pushed again, and undoes a later change of the fleet.
// ---------------------------------------------------------------------------------------------

/// A TCP proxy on loopback to `port` that, while `hold` is set, holds what the server sends
/// (a slow or congested network on the way back): commands arrive, answers do not.
fn holding_proxy(port: u16, hold: Arc<AtomicBool>) -> u16 {
    lossy_proxy(port, hold, Arc::default())
}

/// A TCP proxy on loopback to `port` that, while `hold_down` is set, holds what the server
/// sends, and while `drop_up` is set, loses what the client sends.
fn lossy_proxy(port: u16, hold_down: Arc<AtomicBool>, drop_up: Arc<AtomicBool>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy_port = listener.local_addr().unwrap().port();
    let pipe =
        |mut from: TcpStream, mut to: TcpStream, hold: Arc<AtomicBool>, lose: Arc<AtomicBool>| {
            std::thread::spawn(move || {
                let mut buf = [0u8; 16384];
                loop {
                    let n = match std::io::Read::read(&mut from, &mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    while hold.load(Ordering::SeqCst) {
                        std::thread::sleep(MS);
                    }
                    if lose.load(Ordering::SeqCst) {
                        continue;
                    }
                    if std::io::Write::write_all(&mut to, &buf[..n]).is_err() {
                        break;
                    }
                }
                let _ = to.shutdown(std::net::Shutdown::Both);
            });
        };
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { continue };
            let Ok(server) = TcpStream::connect(("127.0.0.1", port)) else {
                continue;
            };
            let never = Arc::new(AtomicBool::new(false));
            pipe(
                client.try_clone().unwrap(),
                server.try_clone().unwrap(),
                never.clone(),
                drop_up.clone(),
            );
            pipe(server, client, hold_down.clone(), never);
        }
    });
    proxy_port
}

/// Once (`worker.rs` `serve_link`: a failed push is `change_again`, and pushed again as it was):
/// an unconditional change (a reset, a force_open) whose answer is lost may well have been
/// made; pushed again after the reconnection, it undoes whatever the fleet did in between.
/// Here a's reset is made in Redis but its answer is lost; b then forces the circuit open;
/// a's store, connected again, resets it a second time: the fleet ends closed although the
/// last change anyone made was b's force_open. (A retried change could carry the version it
/// was made after and be dropped if the record is the retried change itself, or newer than
/// it: the record names its writer.)
#[test]

fn a_reset_whose_answer_was_lost_is_pushed_again_and_undoes_a_later_change() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let build = |store: &RedisStore| {
        Breaker::builder("twice")
            .store(store.clone())
            .open_for(60 * SEC)
            .build()
            .unwrap()
    };
    let hold = Arc::new(AtomicBool::new(false));
    let url = format!(
        "redis://127.0.0.1:{}",
        holding_proxy(server.port(), hold.clone())
    );
    let here = connected(RedisStore::new(&url).unwrap());
    let there = connected(RedisStore::new(&server.url()).unwrap());
    let (a, b) = (build(&here), build(&there));
    std::thread::sleep(50 * MS);
    // Trip, reset and trip again: Redis knows both scripts.
    let _ = a.call(fail);
    record_is(&server, "twice", "open");
    a.reset();
    record_is(&server, "twice", "closed");
    let _ = a.call(fail);
    record_is(&server, "twice", "open");
    within(SEC, || b.state().is_open()).expect("b follows");

    hold.store(true, Ordering::SeqCst);
    a.reset(); // made in Redis; its answer is held past a's store timeout
    record_is(&server, "twice", "closed");
    within(SEC, || b.state().is_closed()).expect("b follows the reset");
    within(SEC, || !here.is_connected()).expect("a's store gave up on the answer");
    b.force_open(60 * SEC); // after a's reset, in Redis and in time
    record_is(&server, "twice", "open");
    hold.store(false, Ordering::SeqCst);
    within(3 * SEC, || here.is_connected()).expect("a's store connects again");
    std::thread::sleep(500 * MS);
    let mut conn = server.connection();
    let phase = hget(&mut conn, "failfast:{twice}:state", "phase");
    let generation = hget(&mut conn, "failfast:{twice}:state", "gen");
    assert!(
        phase.as_deref() == Some("open") && b.state().is_open(),
        "the last change was b's force_open, yet the record is {phase:?} (generation \
         {generation:?}: trip, reset, trip, reset, force, and the same reset again); b is {:?}",
        b.state()
    );
}

// ---------------------------------------------------------------------------------------------
// I. A change whose push fails while its circuit is made again is lost.
// ---------------------------------------------------------------------------------------------

/// Once (`link.rs` `Link::inherit` / `change_again`; `mod.rs` `RedisStore::link`): a circuit
/// made again inherits the change its old link has yet to push, but not a change the store's
/// thread has taken and is pushing at that moment. If that push fails, `change_again` puts the
/// change back on the old link, which is no longer in the store's map: nothing pushes it
/// again. (While the circuit lives, the push holds it and it cannot be made again; the
/// window is the push of the change of a circuit already gone, which the store does on
/// purpose.) With a breaker per request (closed circuits are let go at once), a reset made
/// just before the breaker is dropped and pushed while Redis hiccups is lost, if the next
/// request comes within the store timeout. Here the fleet stays open.
#[test]

fn a_change_whose_push_fails_while_the_circuit_is_made_again_is_lost() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let build = |store: &RedisStore| {
        Breaker::builder("orphaned")
            .store(store.clone())
            .open_for(60 * SEC)
            .build()
            .unwrap()
    };
    let lose = Arc::new(AtomicBool::new(false));
    let url = format!(
        "redis://127.0.0.1:{}",
        lossy_proxy(server.port(), Arc::default(), lose.clone())
    );
    let here = connected(RedisStore::new(&url).unwrap());
    let there = connected(RedisStore::new(&server.url()).unwrap());
    let (a, b) = (build(&here), build(&there));
    std::thread::sleep(50 * MS);
    // Trip, reset and trip again: Redis knows both scripts.
    let _ = a.call(fail);
    record_is(&server, "orphaned", "open");
    a.reset();
    record_is(&server, "orphaned", "closed");
    let _ = a.call(fail);
    record_is(&server, "orphaned", "open");
    within(SEC, || b.state().is_open()).expect("b follows");

    lose.store(true, Ordering::SeqCst); // the network loses what a's store sends, for a moment
    a.reset(); // pushed, and lost on the way
    drop(a); // the request is done; its closed circuit is let go
    std::thread::sleep(10 * MS); // the store's thread has taken the change, and waits
    let again = build(&here); // the next request
    within(SEC, || !here.is_connected()).expect("a's push timed out");
    lose.store(false, Ordering::SeqCst);
    within(3 * SEC, || here.is_connected()).expect("a's store connects again");
    std::thread::sleep(SEC);
    let phase = hget(
        &mut server.connection(),
        "failfast:{orphaned}:state",
        "phase",
    );
    assert!(
        phase.as_deref() == Some("closed") && b.state().is_closed(),
        "a's reset never reached the fleet: the record is {phase:?}, b is {:?}, and the \
         breaker made again in a's process is {:?}",
        b.state(),
        again.state()
    );
}
