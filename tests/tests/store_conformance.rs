//! One behavioural suite, run against every store: the in-process `MemoryStore` (every member of
//! the "fleet" is the same store) and the `RedisStore` (every member is a store of its own, as
//! in a process of its own, on one `redis-server`). Time is real here, as Redis's is; every
//! wait is bounded.

use std::sync::Arc;
use std::time::Duration;

use failfast::{Breaker, MemoryStore, RedisStore, Store};
use tests::redis_server::RedisServer;
use tests::{SEC, fail, ok, within};

const MS: Duration = Duration::from_millis(1);

/// Where the members of a fleet get their store.
trait Fleet {
    /// A store for a new member of the fleet, ready to use.
    fn member(&self) -> Arc<dyn Store>;
}

struct InProcess(MemoryStore);

impl Fleet for InProcess {
    fn member(&self) -> Arc<dyn Store> {
        Arc::new(self.0.clone())
    }
}

struct ThroughRedis(RedisServer);

impl Fleet for ThroughRedis {
    fn member(&self) -> Arc<dyn Store> {
        let store = RedisStore::new(&self.0.url()).unwrap();
        within(5 * SEC, || store.is_connected()).expect("the store connects");
        Arc::new(store)
    }
}

/// Runs `behaviour` against each store.
fn conforms(behaviour: fn(&dyn Fleet)) {
    eprintln!("with a MemoryStore");
    behaviour(&InProcess(MemoryStore::new()));
    if let Some(server) = RedisServer::start() {
        eprintln!("with RedisStores");
        behaviour(&ThroughRedis(server));
    }
}

fn breaker(store: &Arc<dyn Store>, name: &str, open_for: Duration) -> Breaker {
    Breaker::builder(name.to_owned())
        .store(store.clone())
        .open_for(open_for)
        .build()
        .unwrap()
}

/// Lets the breakers' first look at the shared state land before the test changes it.
fn settle() {
    std::thread::sleep(20 * MS);
}

/// Calls until a call is let through (the first calls of a half-open period may be refused
/// while a fleet store claims a probe token); panics after a second.
fn first_admitted(breaker: &Breaker) -> failfast::Permit<'_> {
    let mut permit = None;
    within(SEC, || {
        permit = breaker.try_acquire().ok();
        permit.is_some()
    })
    .expect("a call is let through");
    permit.unwrap()
}

#[test]
fn a_trip_anywhere_opens_the_circuit_everywhere_and_a_reset_closes_it() {
    conforms(|fleet| {
        let (one, two) = (fleet.member(), fleet.member());
        let a = breaker(&one, "trips", 30 * SEC);
        let b = breaker(&two, "trips", 30 * SEC);
        settle();
        let _ = a.call(fail);
        within(SEC, || b.state().is_open()).expect("b sees the trip");
        b.reset();
        within(SEC, || a.state().is_closed()).expect("a sees the reset");
        assert_eq!(a.call(ok).unwrap(), 1);
    });
}

#[test]
fn a_new_member_learns_an_open_circuit_without_a_failure() {
    conforms(|fleet| {
        let one = fleet.member();
        let a = breaker(&one, "joins", 30 * SEC);
        let _ = a.call(fail);
        settle();
        let late = fleet.member();
        let b = breaker(&late, "joins", SEC);
        let took = within(SEC, || b.state().is_open()).expect("b learns the circuit is open");
        assert!(took < 100 * MS, "{took:?}");
        let failfast::State::Open { retry_in } = b.state() else {
            unreachable!()
        };
        assert!(
            retry_in > 29 * SEC,
            "the circuit's remaining time, not b's open_for: {retry_in:?}"
        );
        assert_eq!(b.stats().failures, 0);
    });
}

#[test]
fn making_a_breaker_never_resets_or_extends_the_circuit() {
    conforms(|fleet| {
        let one = fleet.member();
        let a = breaker(&one, "steady", 2 * SEC);
        let _ = a.call(fail);
        settle();
        for _ in 0..3 {
            let member = fleet.member();
            let b = breaker(&member, "steady", 60 * SEC);
            within(SEC, || b.state().is_open()).expect("b sees the circuit open");
        }
        settle();
        let failfast::State::Open { retry_in } = a.state() else {
            panic!("a new breaker closed the circuit: {:?}", a.state())
        };
        assert!(
            retry_in < 2 * SEC,
            "a new breaker extended the period: {retry_in:?}"
        );
    });
}

#[test]
fn names_are_independent_whatever_they_contain() {
    conforms(|fleet| {
        let names = [
            "plain".to_owned(),
            "with space".to_owned(),
            "a}b{c".to_owned(),
            "{tag}".to_owned(),
            "x:state".to_owned(),
            "line\nbreak".to_owned(),
            "ünïcødé 🚦".to_owned(),
            "%41".to_owned(),
            "A".to_owned(),
            "n".repeat(4096),
        ];
        let (one, two) = (fleet.member(), fleet.member());
        let here: Vec<Breaker> = names.iter().map(|n| breaker(&one, n, 30 * SEC)).collect();
        let there: Vec<Breaker> = names.iter().map(|n| breaker(&two, n, 30 * SEC)).collect();
        settle();
        for (i, tripped) in here.iter().enumerate() {
            let _ = tripped.call(fail);
            within(SEC, || there[i].state().is_open())
                .unwrap_or_else(|| panic!("{:?} is shared", names[i]));
            for (j, other) in there.iter().enumerate() {
                assert_eq!(
                    other.state().is_open(),
                    j <= i,
                    "{:?} after tripping {:?}",
                    names[j],
                    names[i]
                );
            }
        }
    });
}

#[test]
fn the_fleet_probes_one_call_at_a_time_and_its_outcome_counts_everywhere() {
    conforms(|fleet| {
        let (one, two) = (fleet.member(), fleet.member());
        let a = breaker(&one, "probes", 100 * MS);
        let b = breaker(&two, "probes", 100 * MS);
        settle();
        let _ = a.call(fail);
        within(SEC, || b.state().is_open()).expect("b sees the trip");
        // a probes and holds on to its permit: b may not probe meanwhile.
        let probe = first_admitted(&a);
        let refused = within(300 * MS, || b.try_acquire().is_ok());
        assert_eq!(
            refused, None,
            "a second probe ran while the first held the only token"
        );
        probe.failure();
        within(SEC, || b.state().is_open())
            .expect("the failed probe reopened the circuit everywhere");
        // Next period: b probes, succeeds, and the circuit closes everywhere.
        first_admitted(&b).success();
        assert!(b.state().is_closed());
        within(SEC, || a.state().is_closed()).expect("a sees the close");
    });
}
