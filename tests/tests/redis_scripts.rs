//! The Redis store's Lua scripts, run directly against a `redis-server` of each test's own: every
//! change is atomic and versioned, so a late or repeated write never undoes a newer one, and
//! every key they write expires.

use redis::{Connection, Script};
use tests::redis_server::RedisServer;

const PRELUDE: &str = include_str!("../../failfast/src/store/redis/lua/prelude.lua");

fn script(body: &str) -> Script {
    Script::new(&format!("{PRELUDE}{body}"))
}

/// The scripts, called as the store calls them, for the circuit named `c`.
struct Scripts {
    read: Script,
    open: Script,
    close: Script,
    claim: Script,
    release: Script,
}

const STATE: &str = "failfast:{c}:state";
const OPEN: &str = "failfast:{c}:open";
const PROBES: &str = "failfast:{c}:probes";
const CHANNEL: &str = "failfast:events";

impl Scripts {
    fn new() -> Scripts {
        Scripts {
            read: script(include_str!("../../failfast/src/store/redis/lua/read.lua")),
            open: script(include_str!("../../failfast/src/store/redis/lua/open.lua")),
            close: script(include_str!("../../failfast/src/store/redis/lua/close.lua")),
            claim: script(include_str!("../../failfast/src/store/redis/lua/claim.lua")),
            release: script(include_str!(
                "../../failfast/src/store/redis/lua/release.lua"
            )),
        }
    }
}

/// Runs `script` for circuit `c` as writer `by`, with the script's own arguments.
fn run(conn: &mut Connection, script: &Script, by: &str, args: &[&str]) -> Vec<String> {
    let mut invocation = script.prepare_invoke();
    invocation
        .key(STATE)
        .key(OPEN)
        .key(PROBES)
        .arg(CHANNEL)
        .arg("c")
        .arg(by);
    for arg in args {
        invocation.arg(*arg);
    }
    invocation.invoke(conn).expect("the script runs")
}

/// Runs the change `script` (open or close) as writer `by`: its arguments, then a number no
/// change of the test had before.
fn change(conn: &mut Connection, script: &Script, by: &str, args: &[&str]) -> Vec<String> {
    static CHANGES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let seq = CHANGES
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        .to_string();
    let args: Vec<&str> = args.iter().copied().chain([seq.as_str()]).collect();
    run(conn, script, by, &args)
}

/// Trips the circuit as writer `by`, for 30 s.
fn trip(conn: &mut Connection, s: &Scripts, by: &str) -> Vec<String> {
    change(conn, &s.open, by, &["trip", "", "", "30000", "600000"])
}

/// A record's version as the scripts take it: epoch and generation, as text.
fn version_args(answer: &[String]) -> (String, String) {
    (answer[1].clone(), answer[2].clone())
}

/// Gives token `holder` back: answers whether it was held.
fn release(conn: &mut Connection, s: &Scripts, holder: &str) -> bool {
    let mut invocation = s.release.prepare_invoke();
    invocation
        .key(STATE)
        .key(OPEN)
        .key(PROBES)
        .arg(CHANNEL)
        .arg("c")
        .arg("1")
        .arg(holder);
    invocation.invoke(conn).expect("the script runs")
}

/// A record's version, as the scripts answer it.
fn version(answer: &[String]) -> (u64, u64) {
    (answer[1].parse().unwrap(), answer[2].parse().unwrap())
}

fn pttl(conn: &mut Connection, key: &str) -> i64 {
    redis::cmd("PTTL").arg(key).query(conn).unwrap()
}

#[test]
fn only_the_first_of_racing_trips_opens_and_the_rest_learn_the_record() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let (mut conn, s) = (server.connection(), Scripts::new());
    assert_eq!(run(&mut conn, &s.read, "1", &[]), ["0"], "no record yet");
    let first = trip(&mut conn, &s, "1");
    assert_eq!(first[0], "1");
    assert_eq!(&first[3..], ["open", "30000", "1"]);
    let second = change(&mut conn, &s.open, "2", &["trip", "", "", "5000", "600000"]);
    assert_eq!(second[0], "0", "already open: not applied");
    assert_eq!(version(&second), version(&first));
    assert_eq!(second[5], "1", "written by the first");
    assert!(
        pttl(&mut conn, OPEN) > 29_000,
        "the second trip did not shorten the period"
    );
}

#[test]
fn a_late_close_or_reopen_cannot_undo_a_newer_record() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let (mut conn, s) = (server.connection(), Scripts::new());
    let opened = trip(&mut conn, &s, "1");
    let (epoch, generation) = version_args(&opened);
    // Someone resets, then trips again: the record moved on twice.
    change(&mut conn, &s.close, "2", &["reset", "", "", "600000"]);
    let newer = trip(&mut conn, &s, "2");
    // A probe result about the first period arrives late: it changes nothing.
    let late_close = change(
        &mut conn,
        &s.close,
        "1",
        &["probes", &epoch, &generation, "600000"],
    );
    assert_eq!(late_close[0], "0");
    assert_eq!(version(&late_close), version(&newer));
    assert_eq!(late_close[3], "open");
    let late_reopen = change(
        &mut conn,
        &s.open,
        "1",
        &["reopen", &epoch, &generation, "1000", "600000"],
    );
    assert_eq!(late_reopen[0], "0");
    assert_eq!(version(&late_reopen), version(&newer));
    // The same close, with the current version, applies once; repeated, it does nothing.
    let (e, g) = version_args(&newer);
    let closed = change(&mut conn, &s.close, "1", &["probes", &e, &g, "600000"]);
    assert_eq!(closed[0], "1");
    assert_eq!(closed[3], "closed");
    let again = change(&mut conn, &s.close, "1", &["probes", &e, &g, "600000"]);
    assert_eq!(again[0], "0");
    assert_eq!(version(&again), version(&closed));
}

#[test]
fn a_record_made_after_redis_lost_its_data_comes_after_every_older_one() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let (mut conn, s) = (server.connection(), Scripts::new());
    let mut last = (0, 0);
    for _ in 0..5 {
        let opened = trip(&mut conn, &s, "1");
        change(&mut conn, &s.close, "1", &["reset", "", "", "600000"]);
        let closed = run(&mut conn, &s.read, "1", &[]);
        assert!(version(&opened) > last && version(&closed) > version(&opened));
        last = version(&closed);
        redis::cmd("FLUSHALL").query::<()>(&mut conn).unwrap(); // as a restart without persistence
    }
}

#[test]
fn every_key_expires() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let (mut conn, s) = (server.connection(), Scripts::new());
    trip(&mut conn, &s, "1");
    assert!((29_000..=30_000).contains(&pttl(&mut conn, OPEN)));
    assert!(
        (629_000..=630_000).contains(&pttl(&mut conn, STATE)),
        "open period and the time kept after"
    );
    redis::cmd("DEL").arg(OPEN).query::<()>(&mut conn).unwrap(); // the open period ends
    let read = run(&mut conn, &s.read, "1", &[]);
    assert_eq!(read[3], "half");
    let (e, g) = version_args(&read);
    let claimed = run(
        &mut conn,
        &s.claim,
        "1",
        &["t1", "5000", "1", &e, &g, "600000"],
    );
    assert_eq!(claimed, ["1"]);
    assert!(
        (4_000..=5_000).contains(&pttl(&mut conn, PROBES)),
        "a token lives as long as a probe may"
    );
    change(&mut conn, &s.close, "1", &["probes", &e, &g, "2000"]);
    assert!(
        (1_000..=2_000).contains(&pttl(&mut conn, STATE)),
        "a closed record is kept for a while"
    );
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut conn).unwrap();
    assert_eq!(keys, [STATE], "closing deletes the open key and the tokens");
}

#[test]
fn probe_tokens_are_limited_and_go_back() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let (mut conn, s) = (server.connection(), Scripts::new());
    let opened = trip(&mut conn, &s, "1");
    let (e, g) = version_args(&opened);
    let claim = |conn: &mut Connection, holder: &str, e: &str, g: &str| {
        run(conn, &s.claim, "1", &[holder, "5000", "2", e, g, "600000"])
    };
    let still_open = claim(&mut conn, "t1", &e, &g);
    assert_eq!(still_open[0], "0");
    assert_eq!(still_open[3], "open", "no probe while the period lasts");
    redis::cmd("DEL").arg(OPEN).query::<()>(&mut conn).unwrap();
    assert_eq!(claim(&mut conn, "t1", &e, &g), ["1"]);
    assert_eq!(claim(&mut conn, "t2", &e, &g), ["1"]);
    let taken = claim(&mut conn, "t3", &e, &g);
    assert_eq!(taken[0], "2", "two probes at most");
    let wait: u64 = taken[1].parse().unwrap();
    assert!(
        (4_000..=5_000).contains(&wait),
        "until the first token expires: {wait}"
    );
    let stale = claim(&mut conn, "t3", &e, "999");
    assert_eq!(
        stale[0], "0",
        "a claim for another period answers the record"
    );
    assert_eq!(version(&stale), version(&opened));

    let mut listener = server.connection();
    let mut pubsub = listener.as_pubsub();
    pubsub.subscribe(CHANNEL).unwrap();
    assert!(release(&mut conn, &s, "t1"));
    let message: String = pubsub.get_message().unwrap().get_payload().unwrap();
    assert_eq!(message, "c probe", "the fleet hears a token is free");
    assert!(!release(&mut conn, &s, "t1"), "released once");
    assert_eq!(claim(&mut conn, "t3", &e, &g), ["1"]);
}

#[test]
fn every_change_is_announced_with_its_record() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let (mut conn, s) = (server.connection(), Scripts::new());
    let mut listener = server.connection();
    let mut pubsub = listener.as_pubsub();
    pubsub.subscribe(CHANNEL).unwrap();
    let opened = change(
        &mut conn,
        &s.open,
        "7",
        &["force", "", "", "1500", "600000"],
    );
    let message: String = pubsub.get_message().unwrap().get_payload().unwrap();
    assert_eq!(message, format!("c {}", opened[1..].join(" ")));
    assert!(message.ends_with(" open 1500 7"), "{message}");
    // A refused change announces nothing: the next message is the reset's.
    change(&mut conn, &s.open, "8", &["trip", "", "", "1500", "600000"]);
    let reset = change(&mut conn, &s.close, "8", &["reset", "", "", "600000"]);
    let message: String = pubsub.get_message().unwrap().get_payload().unwrap();
    assert_eq!(message, format!("c {}", reset[1..].join(" ")));
}

#[test]
fn a_change_pushed_twice_is_made_once() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let (mut conn, s) = (server.connection(), Scripts::new());
    let args = ["reset", "", "", "600000", "41"];
    let first = run(&mut conn, &s.close, "5", &args);
    assert_eq!(first[0], "1");
    // Someone else changes the circuit; then the same reset arrives again (its answer was lost).
    let forced = change(
        &mut conn,
        &s.open,
        "6",
        &["force", "", "", "30000", "600000"],
    );
    let again = run(&mut conn, &s.close, "5", &args);
    assert_eq!(again[0], "0", "already made: not made again");
    assert_eq!(version(&again), version(&forced), "the later force stands");
    assert_eq!(again[3], "open");
    // A new change of the same writer is made.
    let next = run(&mut conn, &s.close, "5", &["reset", "", "", "600000", "42"]);
    assert_eq!(next[0], "1");
}
