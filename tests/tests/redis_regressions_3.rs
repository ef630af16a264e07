//! Regression tests from a third adversarial review of the Redis store (a probe outliving its
//! token, a pushed-again reset dropped, a slow listener holding up its own circuit's changes),
//! and must pass. Each test's comment says how the store once failed.

use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use failfast::{Breaker, RedisStore};
use tests::redis_server::{RedisServer, connected, hget, record_is};
use tests::{SEC, fail, ok, within};

const MS: Duration = Duration::from_millis(1);

/// A TCP proxy on loopback to `port`. While `lose_all` is set it loses everything the client
/// sends; while `lose_scripts` is set it loses what the client sends that runs a script
/// (`EVAL`, `EVALSHA`), counting it in `lost_scripts`, and passes the rest (connecting,
/// subscribing, PING).
fn script_losing_proxy(
    port: u16,
    lose_all: Arc<AtomicBool>,
    lose_scripts: Arc<AtomicBool>,
    lost_scripts: Arc<AtomicUsize>,
) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy_port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(mut client) = client else { continue };
            let Ok(mut server) = TcpStream::connect(("127.0.0.1", port)) else {
                continue;
            };
            let (mut client_out, mut server_in) =
                (client.try_clone().unwrap(), server.try_clone().unwrap());
            let (lose_all, lose_scripts, lost_scripts) =
                (lose_all.clone(), lose_scripts.clone(), lost_scripts.clone());
            std::thread::spawn(move || {
                let mut buf = [0u8; 16384];
                loop {
                    let n = match std::io::Read::read(&mut client, &mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    if lose_all.load(Ordering::SeqCst) {
                        continue;
                    }
                    let script = buf[..n].windows(4).any(|w| w.eq_ignore_ascii_case(b"EVAL"));
                    if script && lose_scripts.load(Ordering::SeqCst) {
                        lost_scripts.fetch_add(1, Ordering::SeqCst);
                        continue;
                    }
                    if std::io::Write::write_all(&mut server_in, &buf[..n]).is_err() {
                        break;
                    }
                }
                let _ = server_in.shutdown(std::net::Shutdown::Both);
            });
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut server, &mut client_out);
                let _ = client_out.shutdown(std::net::Shutdown::Both);
            });
        }
    });
    proxy_port
}

// ---------------------------------------------------------------------------------------------
// 1. A probe that takes more than half its timeout outlives its token: two probes at once.
// ---------------------------------------------------------------------------------------------

/// `link.rs` `Token::fresh` / `Link::take_token`: a free token is renewed when a probe takes
/// it only if it has less than half the probe timeout left. But a probe may hold its permit
/// for the whole probe timeout (`ProbeClaim::ttl`: "how long the probe may hold its permit"),
/// so a token with, say, 60 % of its ttl left expires in Redis while its probe still runs;
/// another process then claims the freed slot and probes too. With `probes(1)`, two probes
/// run at once. Here a claims the token, a's next call (0.7 s later, 1.3 s of the 2 s token
/// left, "fresh") probes for 1.6 s, within its 2 s probe timeout; b's claim succeeds when
/// a's token expires, 2 s after it was claimed, and b probes while a's probe runs.
/// Expected: at most one probe in the fleet at a time; a token taken by a probe should cover
/// the probe timeout from the moment the probe starts (renew on every take, or whenever less
/// than the whole ttl is left).
#[test]

fn a_probe_longer_than_half_its_timeout_outlives_its_token() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let build = |store: &RedisStore| {
        Breaker::builder("long-probe")
            .store(store.clone())
            .open_for(300 * MS)
            .probes(1)
            .probe_timeout(2 * SEC)
            .build()
            .unwrap()
    };
    let here = connected(RedisStore::new(&server.url()).unwrap());
    let there = connected(RedisStore::new(&server.url()).unwrap());
    let (a, b) = (Arc::new(build(&here)), build(&there));
    std::thread::sleep(50 * MS);
    let _ = a.call(fail);
    record_is(&server, "long-probe", "open");
    within(SEC, || b.state().is_open()).expect("b follows the fleet");
    std::thread::sleep(400 * MS); // the open period is over everywhere

    // a's call wants to probe: refused, and a's store claims the fleet's only token.
    assert!(matches!(a.call(ok), Err(e) if e.is_open()));
    let mut conn = server.connection();
    within(SEC, || {
        let held: u64 = redis::cmd("ZCARD")
            .arg("failfast:{long-probe}:probes")
            .query(&mut conn)
            .unwrap();
        held == 1
    })
    .expect("a's store claims the token");
    let claimed = Instant::now();
    std::thread::sleep(700 * MS); // the token has 1.3 s of its 2 s left: "fresh"

    let probing = Arc::new(AtomicBool::new(false));
    let a_probe = {
        let (a, probing) = (a.clone(), probing.clone());
        std::thread::spawn(move || {
            a.call(|| {
                probing.store(true, Ordering::SeqCst);
                std::thread::sleep(1600 * MS); // a slow probe, within the 2 s probe timeout
                probing.store(false, Ordering::SeqCst);
                ok()
            })
        })
    };
    within(SEC, || probing.load(Ordering::SeqCst)).expect("a's next call probes");

    // Meanwhile b's process calls every 20 ms; its calls are refused until it probes.
    let mut overlap = None;
    while probing.load(Ordering::SeqCst) {
        let mut ran_while_a_probed = false;
        let result = b.call(|| {
            ran_while_a_probed = probing.load(Ordering::SeqCst);
            ok()
        });
        if result.is_ok() {
            if ran_while_a_probed {
                overlap = Some(claimed.elapsed());
            }
            break;
        }
        std::thread::sleep(20 * MS);
    }
    let _ = a_probe.join().unwrap();
    assert!(
        overlap.is_none(),
        "with probes(1), b probed while a's probe ran ({:?} after a claimed the token): a's \
         token expired in Redis under its probe",
        overlap.unwrap()
    );
}

// ---------------------------------------------------------------------------------------------
// 2. A reset whose push is lost is dropped if the store had not heard the latest record.
// ---------------------------------------------------------------------------------------------

/// `scripts.rs` `Call::push` / `close.lua` `reset-if` (and `open.lua` `force-if`): a reset or
/// force whose push failed is pushed again only if the record still has the version the change
/// was made after (`Pending::base`). That tells "my push was made" from "it was not" only if
/// the store knew the latest record when the change was made. A store that was cut off (an
/// outage, a fresh circuit not read yet: `base` None) makes its change after a version it knows
/// is old; if its first push then fails without reaching Redis (a timeout on a busy Redis, a
/// connection cut, READONLY during a failover: changes that surely were not made), the retry
/// finds a newer version and is dropped, and the store then follows the fleet: the reset is
/// undone here too, silently. Here a's store is cut off while the fleet's circuit is open;
/// b resets and trips again (earlier than a's reset); a resets (the last change anyone made);
/// a's first push is lost on the way; the retry (`reset-if`) is refused, and the fleet and a
/// stay open. Without the lost push, the plain `reset` closes the fleet.
/// Expected: the record closed, a and b closed. Suggested fix: decide whether the first push
/// was made from something that names it (a per-change id the scripts store, e.g. a field
/// `last:<writer>` = sequence of the change, checked by the `-if` kinds), not from the version
/// the change was made after; and do not mark as `retried` a change whose push Redis refused
/// (READONLY, MASTERDOWN, MOVED: not made).
#[test]

fn a_reset_whose_push_is_lost_is_dropped_if_the_store_was_behind() {
    reset_made_while_behind(true);
}

/// The control: the same, with a's first push not lost. The plain `reset` closes the fleet.
#[test]
fn a_reset_made_while_behind_closes_the_fleet_if_its_push_is_not_lost() {
    reset_made_while_behind(false);
}

fn reset_made_while_behind(lose_the_first_push: bool) {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let build = |store: &RedisStore| {
        Breaker::builder("behind")
            .store(store.clone())
            .open_for(60 * SEC)
            .build()
            .unwrap()
    };
    let (lose_all, lose_scripts) = (Arc::new(AtomicBool::new(false)), Arc::default());
    let lost_scripts = Arc::new(AtomicUsize::new(0));
    let port = script_losing_proxy(
        server.port(),
        lose_all.clone(),
        Arc::clone(&lose_scripts),
        lost_scripts.clone(),
    );
    let here = connected(
        RedisStore::builder(&format!("redis://127.0.0.1:{port}"))
            .reconcile_every(200 * MS)
            .build()
            .unwrap(),
    );
    let there = connected(RedisStore::new(&server.url()).unwrap());
    let (a, b) = (build(&here), build(&there));
    std::thread::sleep(50 * MS);
    // Trip, reset and trip again: Redis knows both scripts.
    let _ = b.call(fail);
    record_is(&server, "behind", "open");
    b.reset();
    record_is(&server, "behind", "closed");
    let _ = b.call(fail);
    record_is(&server, "behind", "open");
    within(SEC, || a.state().is_open()).expect("a follows the fleet");

    // a's store is cut off; meanwhile b resets and trips again.
    lose_all.store(true, Ordering::SeqCst);
    within(2 * SEC, || !here.is_connected()).expect("a's store notices");
    b.reset();
    record_is(&server, "behind", "closed");
    let _ = b.call(fail);
    record_is(&server, "behind", "open");

    // Then a resets: the latest change anyone made. Its first push is lost on the way.
    a.reset();
    assert!(a.state().is_closed());
    if lose_the_first_push {
        lose_scripts.store(true, Ordering::SeqCst);
        lose_all.store(false, Ordering::SeqCst);
        within(3 * SEC, || lost_scripts.load(Ordering::SeqCst) > 0).expect("a's push is lost");
        std::thread::sleep(100 * MS); // a's store gave up on it (50 ms store timeout)
        lose_scripts.store(false, Ordering::SeqCst);
    } else {
        lose_all.store(false, Ordering::SeqCst);
    }
    within(3 * SEC, || here.is_connected()).expect("a's store connects again");
    std::thread::sleep(SEC);

    let phase = hget(&mut server.connection(), "failfast:{behind}:state", "phase");
    assert!(
        phase.as_deref() == Some("closed") && b.state().is_closed() && a.state().is_closed(),
        "a's reset was the last change, and never reached Redis, yet it was dropped: the record \
         is {phase:?}, b is {:?}, a (which had reset) is {:?}",
        b.state(),
        a.state()
    );
}

// ---------------------------------------------------------------------------------------------
// 3. A slow listener on a circuit holds up the push of that circuit's own changes.
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

/// `link.rs` `Listener for Link`, `circuit.rs` `dispatch`: the second review made the store's
/// own transitions count as heard when made, but the link still learns of the circuit's local
/// transitions as a listener, in order, from whichever thread is delivering. While the
/// `failfast-events` thread is in a slow listener of this circuit (here: 3 s for a Remote
/// transition), a local transition (a trip, a reset, a probe's close) is queued behind it: the
/// caller's `dispatch` sees another thread delivering and returns. So the change is not pushed,
/// and the link (not "quiet": `heard < transitions`) ignores the fleet, for as long as the
/// listener takes: for ever, with a listener that never returns. Here a's operator resets the
/// circuit the fleet opened; the fleet stays open for 3 s. The store's docs: a listener that
/// blocks "cannot hold up the store".
/// Expected: the reset reaches Redis within milliseconds. Suggested fix: the circuit tells the
/// store of a transition when it makes it (a hook called under or right after the circuit's
/// lock, not through the listener queue), or the link takes the change from the circuit
/// (`transitions()`, `peek()`) when it is woken, rather than from the delivery.
#[test]

fn a_slow_listener_holds_up_the_push_of_its_circuits_own_changes() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let here = connected(RedisStore::new(&server.url()).unwrap());
    let there = connected(RedisStore::new(&server.url()).unwrap());
    let a = Breaker::builder("slow-own")
        .store(here.clone())
        .open_for(60 * SEC)
        .listener(Arc::new(Slow(3 * SEC)))
        .build()
        .unwrap();
    let b = Breaker::builder("slow-own")
        .store(there.clone())
        .open_for(60 * SEC)
        .build()
        .unwrap();
    std::thread::sleep(100 * MS);
    let _ = b.call(fail); // a follows the fleet; a's listener takes 3 s to hear it
    within(SEC, || a.state().is_open()).expect("a follows the fleet");
    std::thread::sleep(50 * MS);
    a.reset(); // the dependency is fixed: the operator closes the circuit
    assert!(a.state().is_closed());
    let mut conn = server.connection();
    let took = within(SEC, || {
        hget(&mut conn, "failfast:{slow-own}:state", "phase").as_deref() == Some("closed")
    });
    assert!(
        took.is_some(),
        "a's reset has not reached Redis after 1 s (a's listener is still hearing the fleet's \
         opening); b is {:?}",
        b.state()
    );
}
