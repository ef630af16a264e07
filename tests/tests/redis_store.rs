//! The Redis store, against a `redis-server` of each test's own.

use std::time::Duration;

use failfast::{Breaker, RedisStore, State};
use tests::redis_server::RedisServer;
use tests::{fail, ok, refuses, within};

const MS: Duration = Duration::from_millis(1);

fn retry_in(breaker: &Breaker) -> Duration {
    match breaker.state() {
        State::Open { retry_in } => retry_in,
        other => panic!("{} is {other:?}, not open", breaker.name()),
    }
}

fn connected(store: &RedisStore) -> RedisStore {
    assert!(store.wait_connected(5 * tests::SEC), "{store:?} connects");
    assert!(store.is_connected());
    store.clone()
}

fn breaker(store: &RedisStore, name: &str, open_for: Duration) -> Breaker {
    Breaker::builder(name.to_owned())
        .store(store.clone())
        .open_for(open_for)
        .build()
        .unwrap()
}

#[test]
fn a_trip_in_one_store_opens_the_circuit_in_another() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let here = connected(&RedisStore::new(&server.url()).unwrap());
    let there = connected(&RedisStore::new(&server.url()).unwrap());
    let a = breaker(&here, "inventory", 30 * tests::SEC);
    let b = breaker(&there, "inventory", 30 * tests::SEC);
    // Both have read the record (there is none) before the trip.
    std::thread::sleep(20 * MS);
    let _ = a.call(fail);
    let took = within(tests::SEC, || b.state().is_open()).expect("b hears of the trip");
    assert!(took < 100 * MS, "{took:?}");
    assert!(refuses(&b));
    let retry_in = retry_in(&b);
    assert!(
        retry_in > 29 * tests::SEC && retry_in <= 30 * tests::SEC,
        "{retry_in:?}"
    );

    b.reset();
    within(tests::SEC, || a.state().is_closed()).expect("a hears of the reset");
    assert_eq!(a.call(ok).unwrap(), 1);
}

#[test]
fn a_breaker_made_while_the_circuit_is_open_learns_it_at_once() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let here = connected(&RedisStore::new(&server.url()).unwrap());
    let a = breaker(&here, "ledger", 20 * tests::SEC);
    let _ = a.call(fail);
    let later = connected(&RedisStore::new(&server.url()).unwrap());
    // Let the trip reach Redis.
    let mut conn = server.connection();
    within(tests::SEC, || {
        redis::cmd("EXISTS")
            .arg("failfast:{ledger}:open")
            .query::<bool>(&mut conn)
            .unwrap()
    })
    .expect("the trip reaches Redis");
    let b = breaker(&later, "ledger", 5 * tests::SEC);
    let took = within(tests::SEC, || b.state().is_open()).expect("b learns the circuit is open");
    assert!(took < 100 * MS, "{took:?}");
    let retry_in = retry_in(&b);
    assert!(
        retry_in > 19 * tests::SEC,
        "the remaining time comes from Redis: {retry_in:?}"
    );
}

/// Calls `breaker` with `call` until one runs or `limit` passes; returns whether one ran.
fn call_until_one_runs(
    breaker: &Breaker,
    limit: Duration,
    call: fn() -> Result<u32, &'static str>,
) -> bool {
    within(
        limit,
        || !matches!(breaker.call(call), Err(e) if e.is_open()),
    )
    .is_some()
}

#[test]
fn the_fleet_sends_one_probe_when_the_open_period_ends() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let stores: Vec<RedisStore> = (0..3)
        .map(|_| connected(&RedisStore::new(&server.url()).unwrap()))
        .collect();
    let breakers: Vec<Breaker> = stores
        .iter()
        .map(|s| breaker(s, "search", 200 * MS))
        .collect();
    std::thread::sleep(20 * MS);
    let _ = breakers[0].call(fail);
    for b in &breakers {
        within(tests::SEC, || b.state().is_open()).expect("every breaker hears of the trip");
    }
    // Once the period ends, every breaker calls as fast as it can; the calls fail, and hold on
    // long enough that a second probe anywhere would overlap the first.
    let ran = std::sync::atomic::AtomicU32::new(0);
    std::thread::scope(|s| {
        for b in &breakers {
            let ran = &ran;
            s.spawn(move || {
                let deadline = std::time::Instant::now() + tests::SEC;
                while std::time::Instant::now() < deadline {
                    let _ = b.call(|| {
                        ran.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        std::thread::sleep(20 * MS);
                        fail()
                    });
                }
            });
        }
    });
    // The probe failed and reopened the circuit for another 200 ms; in a second there are at
    // most a handful of half-open periods, each with a single probe.
    let ran = ran.into_inner();
    assert!((1..=5).contains(&ran), "{ran} probes");
}

#[test]
fn a_probe_that_succeeds_closes_the_circuit_everywhere() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let here = connected(&RedisStore::new(&server.url()).unwrap());
    let there = connected(&RedisStore::new(&server.url()).unwrap());
    let a = breaker(&here, "geo", 100 * MS);
    let b = breaker(&there, "geo", 100 * MS);
    std::thread::sleep(20 * MS);
    let _ = a.call(fail);
    within(tests::SEC, || b.state().is_open()).expect("b hears of the trip");
    assert!(
        call_until_one_runs(&b, 2 * tests::SEC, ok),
        "b probes once the period ends"
    );
    assert!(b.state().is_closed());
    within(tests::SEC, || a.state().is_closed()).expect("a hears that b's probe closed it");
}

#[test]
fn nothing_is_left_in_redis_once_circuits_close_and_time_passes() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let store = connected(
        &RedisStore::builder(&server.url())
            .keep_records(300 * MS)
            .build()
            .unwrap(),
    );
    let mut conn = server.connection();
    let keys = |conn: &mut redis::Connection| -> Vec<String> {
        redis::cmd("KEYS").arg("*").query(conn).unwrap()
    };
    let breakers: Vec<Breaker> = (0..20)
        .map(|i| breaker(&store, &format!("tenant-{i}"), 200 * MS))
        .collect();
    std::thread::sleep(20 * MS);
    for b in &breakers {
        let _ = b.call(fail);
    }
    within(tests::SEC, || keys(&mut conn).len() == 40)
        .expect("a state and an open key per circuit");
    for key in keys(&mut conn) {
        let pttl: i64 = redis::cmd("PTTL").arg(&key).query(&mut conn).unwrap();
        assert!(pttl > 0, "{key} has no expiry");
    }
    // Each circuit probes and closes.
    for b in &breakers {
        assert!(call_until_one_runs(b, 2 * tests::SEC, ok));
        assert!(b.state().is_closed());
    }
    within(2 * tests::SEC, || keys(&mut conn).is_empty()).expect("every key expires");
}

/// A trip in `a`'s store reaches `b`'s, and back, from inside an async runtime: awaited calls
/// through `run`, while the runtime's own thread is kept busy by the test.
async fn share_from_async(server: &RedisServer) {
    let here = connected(&RedisStore::new(&server.url()).unwrap());
    let there = connected(&RedisStore::new(&server.url()).unwrap());
    let a = breaker(&here, "async", 30 * tests::SEC);
    let b = breaker(&there, "async", 30 * tests::SEC);
    std::thread::sleep(20 * MS);
    let failed = a.run(async { Err::<u32, _>("down") }).await;
    assert!(failed.unwrap_err().into_inner().is_some());
    // `within` blocks this thread: a store that needed the test's runtime would stall here.
    within(tests::SEC, || b.state().is_open()).expect("b hears of the trip");
    assert!(b.run(async { Ok::<_, ()>(1) }).await.unwrap_err().is_open());
    b.reset();
    within(tests::SEC, || a.state().is_closed()).expect("a hears of the reset");
    assert_eq!(a.run(async { Ok::<_, ()>(7) }).await.unwrap(), 7);
}

#[tokio::test(flavor = "current_thread")]
async fn works_inside_a_current_thread_runtime() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    share_from_async(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn works_inside_a_multi_thread_runtime() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    share_from_async(&server).await;
}

static URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
static STORE: std::sync::LazyLock<RedisStore> = std::sync::LazyLock::new(|| {
    RedisStore::new(URL.get().expect("the test sets the URL")).unwrap()
});

#[failfast::failfast("macro_crm", 30, store = STORE.clone())]
fn crm_lookup() -> Result<u32, failfast::Error<&'static str>> {
    Err(failfast::Error::Inner("crm down"))
}

#[test]
fn macro_and_registry_breakers_share_through_redis() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    URL.set(server.url()).unwrap();
    connected(&STORE);
    let registry = failfast::Registry::new();
    let elsewhere = connected(&RedisStore::new(&server.url()).unwrap());
    registry.set_default_store(elsewhere);
    let from_registry = registry.get_or_create("macro_crm", 30 * tests::SEC);
    std::thread::sleep(20 * MS);
    assert!(
        crm_lookup().unwrap_err().into_inner().is_some(),
        "ran, failed, tripped"
    );
    within(tests::SEC, || from_registry.state().is_open())
        .expect("the registry's breaker hears it");
    assert!(
        crm_lookup().unwrap_err().is_open(),
        "refused without running"
    );
}

#[test]
fn a_circuit_forced_open_for_ever_is_open_for_the_fleet_too() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let here = connected(&RedisStore::new(&server.url()).unwrap());
    let there = connected(&RedisStore::new(&server.url()).unwrap());
    let a = breaker(&here, "forever", tests::SEC);
    let b = breaker(&there, "forever", tests::SEC);
    std::thread::sleep(20 * MS);
    a.force_open(Duration::MAX);
    within(tests::SEC, || b.state().is_open()).expect("b hears of it");
    let years = retry_in(&b).as_secs() / (365 * 24 * 3600);
    assert!(years >= 9, "open for about ten years in the fleet: {years}");
}

/// Opens circuit `name`'s record for `open_ms` as another store would, but announces it on a
/// channel nobody listens to: a message every process missed.
fn open_unannounced(server: &RedisServer, name: &str, open_ms: u64) {
    let prelude = include_str!("../../failfast/src/store/redis/lua/prelude.lua");
    let open = include_str!("../../failfast/src/store/redis/lua/open.lua");
    let script = redis::Script::new(&format!("{prelude}{open}"));
    let key = |what: &str| format!("failfast:{{{name}}}:{what}");
    let answer: Vec<String> = script
        .key(key("state"))
        .key(key("open"))
        .key(key("probes"))
        .arg("nobody-listens")
        .arg(name)
        .arg("99")
        .arg("force")
        .arg("")
        .arg("")
        .arg(open_ms)
        .arg(600_000)
        .arg(1) // the change's number
        .invoke(&mut server.connection())
        .unwrap();
    assert_eq!(answer[0], "1");
}

#[test]
fn a_missed_message_is_made_up_for_by_the_periodic_reconciliation() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let store = connected(
        &RedisStore::builder(&server.url())
            .reconcile_every(200 * MS)
            .build()
            .unwrap(),
    );
    let b = breaker(&store, "missed", tests::SEC);
    std::thread::sleep(20 * MS);
    open_unannounced(&server, "missed", 30_000);
    let took = within(2 * tests::SEC, || b.state().is_open()).expect("the reconciliation finds it");
    assert!(took <= 200 * MS + 100 * MS, "{took:?}");
    assert!(retry_in(&b) > 29 * tests::SEC);
}

#[test]
fn a_redis_too_slow_to_answer_holds_up_no_call() {
    let Some(server) = RedisServer::start_with(&["--enable-debug-command", "yes"]) else {
        return;
    };
    // A call that waited on Redis would take this long at least, a second at most.
    let timeout = 200 * MS;
    let store = || {
        RedisStore::builder(&server.url())
            .timeout(timeout)
            .build()
            .unwrap()
    };
    let (here, there) = (connected(&store()), connected(&store()));
    let (a, b) = (
        breaker(&here, "slow", 30 * tests::SEC),
        breaker(&there, "slow", 30 * tests::SEC),
    );
    std::thread::sleep(20 * MS);
    // Redis takes a second over one command, as when it forks or swaps.
    let sleeper = std::thread::spawn({
        let mut conn = server.connection();
        move || {
            redis::cmd("DEBUG")
                .arg("SLEEP")
                .arg("1")
                .query::<()>(&mut conn)
                .unwrap()
        }
    });
    std::thread::sleep(50 * MS);
    let started = std::time::Instant::now();
    let _ = a.call(fail);
    let mut slowest = Duration::ZERO;
    while started.elapsed() < 500 * MS {
        let call = std::time::Instant::now();
        let _ = b.call(ok);
        slowest = slowest.max(call.elapsed());
    }
    assert!(slowest < timeout / 2, "a call waited on Redis: {slowest:?}");
    sleeper.join().unwrap();
    within(2 * tests::SEC, || b.state().is_open()).expect("the trip reaches b once Redis answers");
}

#[test]
fn a_reset_reaches_the_fleet_even_if_the_breaker_is_dropped_right_after() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let here = connected(&RedisStore::new(&server.url()).unwrap());
    let there = connected(&RedisStore::new(&server.url()).unwrap());
    let b = breaker(&there, "maintenance", tests::SEC);
    for _ in 0..5 {
        let a = breaker(&here, "maintenance", tests::SEC);
        a.force_open(60 * tests::SEC);
        within(tests::SEC, || b.state().is_open()).expect("b hears of the forced open");
        a.reset();
        drop(a); // the circuit is closed and unused: the store lets it go at once
        within(tests::SEC, || b.state().is_closed()).expect("b hears of the reset");
    }
}

#[test]
fn stores_on_different_databases_share_nothing() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let prod = connected(&RedisStore::new(&format!("{}/0", server.url())).unwrap());
    let staging = connected(&RedisStore::new(&format!("{}/1", server.url())).unwrap());
    let more_prod = connected(&RedisStore::new(&server.url()).unwrap());
    let a = breaker(&prod, "db-scoped", 30 * tests::SEC);
    let b = breaker(&staging, "db-scoped", 30 * tests::SEC);
    let c = breaker(&more_prod, "db-scoped", 30 * tests::SEC);
    std::thread::sleep(20 * MS);
    let _ = a.call(fail);
    within(tests::SEC, || c.state().is_open()).expect("the same database shares");
    std::thread::sleep(100 * MS);
    assert!(b.state().is_closed(), "another database does not");
}

/// Notes the transitions it hears.
#[derive(Default)]
struct Heard(std::sync::Mutex<Vec<(failfast::Phase, failfast::Phase, failfast::Reason)>>);

impl failfast::Listener for Heard {
    fn on_transition(&self, t: &failfast::Transition) {
        self.0.lock().unwrap().push((t.from, t.to, t.reason));
    }
}

#[test]
fn a_breaker_made_while_the_fleet_probes_joins_the_probing_without_opening() {
    use failfast::{Phase, Reason};
    let Some(server) = RedisServer::start() else {
        return;
    };
    let here = connected(&RedisStore::new(&server.url()).unwrap());
    let a = breaker(&here, "probing", 100 * MS);
    let _ = a.call(fail);
    within(tests::SEC, || a.state().is_half_open()).expect("the period ends; no one probes");
    // The period ends in Redis a moment after it does here (the trip took a moment to push).
    let mut conn = server.connection();
    within(tests::SEC, || {
        !redis::cmd("EXISTS")
            .arg("failfast:{probing}:open")
            .query::<bool>(&mut conn)
            .unwrap()
    })
    .expect("the period ends in Redis");
    let later = connected(&RedisStore::new(&server.url()).unwrap());
    let heard = std::sync::Arc::new(Heard::default());
    let b = Breaker::builder("probing")
        .store(later.clone())
        .listener(heard.clone())
        .build()
        .unwrap();
    within(tests::SEC, || b.state().is_half_open()).expect("b learns the fleet is probing");
    within(tests::SEC, || !heard.0.lock().unwrap().is_empty()).expect("b's listener hears it");
    assert_eq!(
        *heard.0.lock().unwrap(),
        [(Phase::Closed, Phase::HalfOpen, Reason::Remote)],
        "no open period that b never had"
    );
}
