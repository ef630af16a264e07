//! Stores: circuits shared by name.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering::SeqCst};

use failfast::{Breaker, Circuit, ManualClock, MemoryStore, Name, ProbeClaim, Store};
use tests::{SEC, fail, ok, refuses};

#[test]
fn breakers_with_the_same_name_and_store_share_a_circuit() {
    let store = MemoryStore::new();
    let a = Breaker::builder("billing")
        .store(store.clone())
        .build()
        .unwrap();
    let b = Breaker::builder("billing")
        .store(store.clone())
        .build()
        .unwrap();
    let other = Breaker::builder("shipping")
        .store(store.clone())
        .build()
        .unwrap();
    let _ = a.call(fail);
    assert!(refuses(&b));
    assert!(other.state().is_closed());
    let mut names = store.names();
    names.sort();
    assert_eq!(names, ["billing", "shipping"]);
}

#[test]
fn breakers_without_a_store_do_not_share() {
    let a = Breaker::new("private", SEC);
    let b = Breaker::new("private", SEC);
    let _ = a.call(fail);
    assert!(b.state().is_closed());
}

#[test]
fn a_shared_circuit_keeps_the_clock_it_was_made_with() {
    let store = MemoryStore::new();
    let clock = ManualClock::new();
    let first = Breaker::builder("clocked")
        .store(store.clone())
        .clock(clock.clone())
        .open_for(10 * SEC)
        .build()
        .unwrap();
    let second = Breaker::builder("clocked").store(store).build().unwrap();
    let _ = first.call(fail);
    clock.advance(10 * SEC);
    assert!(second.state().is_half_open());
    assert_eq!(second.call(ok).unwrap(), 1);
}

/// A store that grants no probes, as a fleet store does while another process holds the token.
#[derive(Debug, Default)]
struct NoProbes {
    memory: MemoryStore,
    finished: AtomicU32,
}

impl Store for NoProbes {
    fn circuit(&self, name: &Name, create: &dyn Fn() -> Arc<Circuit>) -> Arc<Circuit> {
        self.memory.circuit(name, create)
    }

    fn probe_finished(&self, _circuit: &Circuit, _probe: u64) {
        self.finished.fetch_add(1, SeqCst);
    }

    fn claim_probe(&self, _circuit: &Circuit, claim: ProbeClaim) -> bool {
        assert_eq!(
            claim.ttl,
            5 * SEC,
            "the probe timeout is the token's lifetime"
        );
        assert_eq!(claim.probes, 1, "the breaker's probes setting");
        false
    }
}

#[test]
fn a_store_that_withholds_the_probe_token_keeps_calls_refused() {
    let clock = ManualClock::new();
    let breaker = Breaker::builder("fleet")
        .store(NoProbes::default())
        .clock(clock.clone())
        .probe_timeout(5 * SEC)
        .open_for(SEC)
        .build()
        .unwrap();
    let _ = breaker.call(fail);
    clock.advance(SEC);
    assert!(breaker.state().is_half_open());
    assert!(refuses(&breaker));
    assert!(
        breaker.state().is_half_open(),
        "the withheld probe changed nothing"
    );
}

/// A store that grants every probe and notes the grants and their ends.
#[derive(Debug, Default)]
struct CountingProbes {
    memory: MemoryStore,
    granted: std::sync::Mutex<Vec<u64>>,
    finished: std::sync::Mutex<Vec<u64>>,
}

impl Store for CountingProbes {
    fn circuit(&self, name: &Name, create: &dyn Fn() -> Arc<Circuit>) -> Arc<Circuit> {
        self.memory.circuit(name, create)
    }

    fn claim_probe(&self, _circuit: &Circuit, claim: ProbeClaim) -> bool {
        self.granted.lock().unwrap().push(claim.probe);
        true
    }

    fn probe_finished(&self, _circuit: &Circuit, probe: u64) {
        self.finished.lock().unwrap().push(probe);
    }
}

#[test]
fn every_granted_probe_is_finished_once_whatever_its_outcome() {
    let clock = ManualClock::new();
    let store = Arc::new(CountingProbes::default());
    let breaker = Breaker::builder("counted")
        .store(store.clone())
        .clock(clock.clone())
        .open_for(SEC)
        .build()
        .unwrap();
    let counts = || {
        let granted = store.granted.lock().unwrap().clone();
        let finished = store.finished.lock().unwrap().clone();
        assert_eq!(granted, finished, "each probe ends as itself");
        let distinct: std::collections::HashSet<_> = granted.iter().collect();
        assert_eq!(
            distinct.len(),
            granted.len(),
            "every probe has a number of its own"
        );
        (granted.len(), finished.len())
    };
    let _ = breaker.call(fail);
    clock.advance(SEC);
    // An error that does not count: the probe ends without a verdict.
    let _ = breaker.call_if(|_| false, || Err::<(), _>("not counted"));
    assert_eq!(counts(), (1, 1));
    // A permit dropped unused.
    drop(breaker.try_acquire().unwrap());
    assert_eq!(counts(), (2, 2));
    // A failure reopens; the next probe succeeds and closes.
    let _ = breaker.call(fail);
    assert_eq!(counts(), (3, 3));
    clock.advance(SEC);
    assert_eq!(breaker.call(ok).unwrap(), 1);
    assert_eq!(counts(), (4, 4));
    assert!(breaker.state().is_closed());
    // Closed calls are no probes.
    let _ = breaker.call(ok);
    assert_eq!(counts(), (4, 4));
}

#[test]
fn a_refused_probe_is_not_finished() {
    let clock = ManualClock::new();
    let store = Arc::new(NoProbes::default());
    let breaker = Breaker::builder("refused")
        .store(store.clone())
        .clock(clock.clone())
        .probe_timeout(5 * SEC)
        .open_for(SEC)
        .build()
        .unwrap();
    let _ = breaker.call(fail);
    clock.advance(SEC);
    assert!(refuses(&breaker));
    assert_eq!(store.finished.load(SeqCst), 0);
}

/// Relays one process's transitions to another's circuit, as a fleet store's publish and
/// subscribe would, minus the network.
#[derive(Debug)]
struct Relay(Arc<Circuit>);

impl failfast::Listener for Relay {
    fn on_transition(&self, t: &failfast::Transition) {
        if t.reason == failfast::Reason::Remote {
            return; // came from the other side: do not echo it back
        }
        match (t.to, t.open_for) {
            (failfast::Phase::Open, Some(open_for)) => self.0.open_remotely(open_for),
            (failfast::Phase::Closed, _) => self.0.close_remotely(),
            _ => {} // half-open is reached locally, when the open period ends
        }
    }
}

#[test]
fn two_processes_share_a_circuit_through_their_stores() {
    let clock = ManualClock::new();
    let (here, there) = (MemoryStore::new(), MemoryStore::new());
    let build = |store: &MemoryStore| {
        Breaker::builder("inventory")
            .store(store.clone())
            .clock(clock.clone())
            .open_for(10 * SEC)
            .build()
            .unwrap()
    };
    let (a, b) = (build(&here), build(&there));
    let circuit = |store: &MemoryStore| store.circuit(&Name::from("inventory"), &|| unreachable!());
    let a_to_b: Arc<dyn failfast::Listener> = Arc::new(Relay(circuit(&there)));
    let b_to_a: Arc<dyn failfast::Listener> = Arc::new(Relay(circuit(&here)));
    circuit(&here).subscribe(Arc::downgrade(&a_to_b));
    circuit(&there).subscribe(Arc::downgrade(&b_to_a));

    let _ = a.call(fail);
    assert!(refuses(&b), "b heard that a opened the circuit");
    clock.advance(10 * SEC);
    assert!(a.state().is_half_open() && b.state().is_half_open());
    assert_eq!(b.call(ok).unwrap(), 1);
    assert!(a.state().is_closed(), "a heard that b's probe closed it");
    assert_eq!(
        a.stats().transitions,
        3,
        "open, half-open, closed: no echoes"
    );
}

#[test]
fn a_memory_store_lets_go_of_circuits_no_breaker_uses() {
    let store = MemoryStore::new();
    let clock = ManualClock::new();
    let kept = Breaker::builder("kept_open")
        .store(store.clone())
        .clock(clock.clone())
        .build()
        .unwrap();
    let left_open = Breaker::builder("left_open")
        .store(store.clone())
        .clock(clock.clone())
        .open_for(10 * SEC)
        .build()
        .unwrap();
    let _ = left_open.call(fail);
    drop(left_open);
    for host in 0..10_000 {
        let breaker = Breaker::builder(format!("hosts/{host}"))
            .store(store.clone())
            .build()
            .unwrap();
        breaker.call(ok).unwrap();
    }
    let names = store.names();
    assert!(names.len() < 100, "{} circuits kept", names.len());
    assert!(names.iter().any(|n| n == "kept_open"), "a breaker uses it");
    assert!(names.iter().any(|n| n == "left_open"), "it is open");
    let again = Breaker::builder("left_open")
        .store(store.clone())
        .build()
        .unwrap();
    assert!(
        refuses(&again),
        "a new breaker finds the circuit still open"
    );
    drop(kept);
}

#[test]
fn a_memory_store_lets_a_circuit_go_with_its_last_breaker_unless_it_is_open() {
    let store = MemoryStore::new();
    let build = |name: &'static str| {
        Breaker::builder(name)
            .store(store.clone())
            .open_for(60 * SEC)
            .build()
            .unwrap()
    };
    let (a, also_a, b) = (build("closed_one"), build("closed_one"), build("open_one"));
    let _ = b.call(fail);
    a.force_open(SEC);
    a.reset(); // two transitions, which a new circuit would not have
    drop(a);
    assert!(
        store.names().iter().any(|n| n == "closed_one"),
        "also_a uses it"
    );
    drop((also_a, b));
    assert_eq!(store.names(), ["open_one"], "the open circuit is kept");
    assert!(refuses(&build("open_one")), "and found open again");
    let fresh = build("closed_one");
    assert_eq!(fresh.stats().transitions, 0);
    assert_eq!(
        store
            .circuit(&Name::from("closed_one"), &|| unreachable!())
            .transitions(),
        0,
        "a new circuit, not the old one"
    );
}
