//! A regression test from a second review of the Redis store: the window between the memory store handing out a new
//! circuit and `RedisStore::link` subscribing to it.
//!
//! The window is normally a few hundred nanoseconds (`Keys::new`, `Link::new`). A long name
//! makes `Keys::new` take tens of milliseconds, which opens it wide enough for a test to hit
//! it every time; a clock whose `set_alarm` pauses holds a transition between the moment the
//! circuit counts it and the moment its observers are read. Nothing else about the names
//! matters: the same happens, rarely, with short names under preemption.

use std::cell::Cell;
use std::time::{Duration, Instant};

use failfast::{Alarm, Breaker, Clock, RedisStore};
use tests::redis_server::{RedisServer, connected};
use tests::{SEC, within};

const MS: Duration = Duration::from_millis(1);

/// A store given the time to move records with long names.
fn patient(server: &RedisServer) -> RedisStore {
    connected(
        RedisStore::builder(&server.url())
            .timeout(2 * SEC)
            .reconcile_every(200 * MS)
            .build()
            .unwrap(),
    )
}

thread_local! {
    /// Whether this thread's next `set_alarm` pauses.
    static PAUSE_ALARM: Cell<bool> = const { Cell::new(false) };
}

/// The system time, without alarms; a thread can ask for its next `set_alarm` to pause.
#[derive(Debug)]
struct PausingClock(Instant);

impl Clock for PausingClock {
    fn now(&self) -> Duration {
        self.0.elapsed()
    }

    fn set_alarm(&self, _at: Duration, _alarm: Alarm) -> bool {
        if PAUSE_ALARM.with(|p| p.replace(false)) {
            std::thread::sleep(300 * MS);
        }
        false
    }
}

/// The phase of `name`'s record (names here are letters and spaces; a space is `%20`).
fn phase(conn: &mut redis::Connection, name: &str) -> Option<String> {
    let encoded = name.replace(' ', "%20");
    redis::cmd("HGET")
        .arg(format!("failfast:{{{encoded}}}:state"))
        .arg("phase")
        .query(conn)
        .unwrap()
}

/// A name that `Keys::new` takes tens of milliseconds to encode (in a debug build).
fn long_name(tag: &str) -> String {
    format!("{tag}{}", " ".repeat(400_000))
}

/// Thread A makes the breaker `name` (the circuit is new: A's store links it); 8 ms later,
/// while A's store is still linking, thread B makes a breaker of the same name and forces it
/// open for an hour. If `pause_b`, B's force_open pauses right after the circuit counted the
/// transition, before its observers are read.
fn race(store: &RedisStore, name: &str, pause_b: bool) -> (Breaker, Breaker) {
    let clock = PausingClock(Instant::now());
    let a = {
        let (store, name) = (store.clone(), name.to_owned());
        std::thread::spawn(move || {
            Breaker::builder(name)
                .store(store)
                .clock(clock)
                .build()
                .unwrap()
        })
    };
    let b = {
        let (store, name) = (store.clone(), name.to_owned());
        std::thread::spawn(move || {
            std::thread::sleep(8 * MS);
            let breaker = Breaker::builder(name).store(store).build().unwrap();
            PAUSE_ALARM.with(|p| p.set(pause_b));
            breaker.force_open(3600 * SEC);
            breaker
        })
    };
    (a.join().unwrap(), b.join().unwrap())
}

/// Once (`failfast/src/store/redis/mod.rs`, `RedisStore::circuit` and `link`): the memory
/// store publishes a new circuit before its link subscribes. A transition made in between by
/// another breaker of the name is never heard: never pushed. The process stays forced open
/// for an hour; the fleet's record is never written.
#[test]

fn a_change_made_while_the_circuit_is_being_linked_never_reaches_the_fleet() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let here = patient(&server);
    let name = long_name("lost");
    let (a, _b) = race(&here, &name, false);
    assert!(a.state().is_open(), "forced open here");
    std::thread::sleep(SEC);
    let mut conn = server.connection();
    let there = patient(&server);
    let elsewhere = Breaker::builder(name.clone()).store(there).build().unwrap();
    std::thread::sleep(500 * MS);
    assert!(
        elsewhere.state().is_open(),
        "forced open for an hour here; the record in Redis: {:?}; another process: {:?}",
        phase(&mut conn, &name),
        elsewhere.state()
    );
}

/// Once (same place): a transition counted before `Link::new` reads `transitions()`, but
/// delivered after the link subscribed, is heard once more than it was counted. `heard` then
/// stays above `transitions()` for ever: the link is never "quiet", and the circuit never
/// follows the fleet again, not even at a reconciliation. Here another process resets the
/// circuit; this one stays open (for the hour it was forced open for).
#[test]

fn a_change_heard_twice_leaves_the_circuit_deaf_to_the_fleet_for_ever() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let here = patient(&server);
    let name = long_name("deaf");
    let (a, _b) = race(&here, &name, true);
    let mut conn = server.connection();
    within(2 * SEC, || {
        phase(&mut conn, &name).as_deref() == Some("open")
    })
    .expect("the force_open reaches Redis");

    let there = patient(&server);
    let elsewhere = Breaker::builder(name.clone()).store(there).build().unwrap();
    within(2 * SEC, || elsewhere.state().is_open()).expect("another process learns it");
    elsewhere.reset();
    within(2 * SEC, || {
        phase(&mut conn, &name).as_deref() == Some("closed")
    })
    .expect("the reset reaches Redis");
    std::thread::sleep(2 * SEC); // the message, and ten reconciliations
    assert!(
        a.state().is_closed(),
        "the fleet's record is {:?} and the other process is {:?}, but this one is {:?} \
         after ten reconciliations",
        phase(&mut conn, &name),
        elsewhere.state(),
        a.state()
    );
}
