//! Review 13: an adversarial review of the observability work (`Listener::hears`/`attach`,
//! `observe::Tracing`, `observe::Metrics`, the `serde` forms).
//!
//! The tests named `finding_*` showed a defect, now fixed (or, for finding 7, documented);
//! the others check what the review found sound. Findings 1, 2 and 6 (a state gauge stale
//! after a build races a transition, transitions counted by each breaker sharing a circuit in
//! one process, a listener added while another thread builds) are documented limits, on
//! `observe::Metrics` and `Registry::add_listener`. Races are made deterministic by a listener whose `attach` (or
//! `on_*`) does, at the exact point in the build, what a second thread could do there: no
//! sleeps, manual clocks only.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::SeqCst};
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::time::Duration;

use failfast::{
    Breaker, BreakerInfo, Circuit, Events, Listener, ManualClock, MemoryStore, Name, Open, Phase,
    ProbeClaim, Reason, Registry, State, Stats, Store, Transition, observe,
};
use metrics_util::debugging::DebuggingRecorder;
use tests::logs::{containing, logs};
use tests::metrics::{CLOSED, OPEN, snapshot, states, value};
use tests::{Hearing, SEC, fail, manual, ok, refuses};

// ---------------------------------------------------------------------------------------------
// helpers

/// A registry of its own, for the life of the test binary (listeners keep a reference to it),
/// on a manual clock.
fn registry() -> (&'static Registry, ManualClock) {
    let registry: &'static Registry = Box::leak(Box::new(Registry::new()));
    let clock = ManualClock::new();
    registry.set_default_clock(clock.clone());
    (registry, clock)
}

/// Counts every event it is told of, whatever it said it hears.
#[derive(Default)]
struct Tally {
    transitions: AtomicU32,
    rejected: AtomicU32,
    successes: AtomicU32,
    failures: AtomicU32,
    ignored: AtomicU32,
}

impl Tally {
    fn all(&self) -> [u32; 5] {
        [
            self.transitions.load(SeqCst),
            self.rejected.load(SeqCst),
            self.successes.load(SeqCst),
            self.failures.load(SeqCst),
            self.ignored.load(SeqCst),
        ]
    }
}

impl Listener for Tally {
    fn on_transition(&self, _: &Transition) {
        self.transitions.fetch_add(1, SeqCst);
    }
    fn on_rejected(&self, _: &Open) {
        self.rejected.fetch_add(1, SeqCst);
    }
    fn on_success(&self, _: &str) {
        self.successes.fetch_add(1, SeqCst);
    }
    fn on_failure(&self, _: &str) {
        self.failures.fetch_add(1, SeqCst);
    }
    fn on_ignored(&self, _: &str) {
        self.ignored.fetch_add(1, SeqCst);
    }
}

// ---------------------------------------------------------------------------------------------
// Finding 3: a breaker that is gone leaves its circuit shown open for ever.

#[test]
fn finding_3_a_removed_breaker_does_not_leave_its_circuit_shown_open() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        let (registry, _clock) = registry();
        registry.add_listener(observe::Metrics::new());
        let host = registry.get_or_create(format!("hosts/{}", "gone-1"), 60 * SEC);
        let _ = host.call(fail);
        drop(host);
        // `Registry::remove` is documented for names per host that come and go.
        drop(registry.remove("hosts/gone-1"));
        assert!(registry.names().is_empty());

        let metrics = snapshot(&snapshotter);
        assert_eq!(
            states(&metrics, "hosts/gone-1"),
            [Some(0.0); 3],
            "no breaker of this circuit exists any more: it is shown in no state"
        );
    });
}

#[test]
fn a_dropped_breaker_leaves_the_gauges_of_a_circuit_another_still_holds() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        let store = MemoryStore::new();
        let (builder, clock) = manual("held_twice");
        let kept = builder
            .store(store.clone())
            .listener(observe::Metrics::new())
            .build()
            .unwrap();
        let dropped = Breaker::builder("held_twice")
            .store(store)
            .clock(clock)
            .listener(observe::Metrics::new())
            .build()
            .unwrap();
        let _ = kept.call(fail);
        drop(dropped);

        let metrics = snapshot(&snapshotter);
        assert_eq!(states(&metrics, "held_twice"), OPEN, "kept still holds it");
    });
}

// ---------------------------------------------------------------------------------------------
// Finding 4: a listener that panics on a probe's transition keeps the store's probe token.

#[derive(Debug, Default)]
struct TokenCounts {
    circuits: MemoryStore,
    claimed: AtomicU32,
    finished: AtomicU32,
}

/// A store that counts the probes it grants and the ones it is told have finished.
#[derive(Debug, Default, Clone)]
struct Tokens(Arc<TokenCounts>);

impl Store for Tokens {
    fn circuit(&self, name: &Name, create: &dyn Fn() -> Arc<Circuit>) -> Arc<Circuit> {
        self.0.circuits.circuit(name, create)
    }
    fn claim_probe(&self, _: &Circuit, _: ProbeClaim) -> bool {
        self.0.claimed.fetch_add(1, SeqCst);
        true
    }
    fn probe_finished(&self, _: &Circuit, _: u64) {
        self.0.finished.fetch_add(1, SeqCst);
    }
    fn released(&self, circuit: &Arc<Circuit>) {
        self.0.circuits.released(circuit)
    }
}

#[test]
fn finding_4_a_listener_panicking_on_a_probe_s_transition_still_lets_the_store_finish_it() {
    let tokens = Tokens::default();
    let (builder, clock) = manual("probe_token");
    let breaker = builder
        .store(tokens.clone())
        .open_for(SEC)
        .on_transition(|t| {
            if t.to != Phase::HalfOpen && t.from == Phase::HalfOpen {
                panic!("a listener's bug");
            }
        })
        .build()
        .unwrap();
    let _ = breaker.call(fail);
    clock.advance(SEC);
    let probe = catch_unwind(AssertUnwindSafe(|| breaker.call(ok)));
    assert!(probe.is_err(), "the listener's panic reaches the caller");
    assert!(breaker.state().is_closed(), "the probe closed the circuit");
    assert_eq!(breaker.stats().successes, 1, "and was counted");

    assert_eq!(
        (
            tokens.0.claimed.load(SeqCst),
            tokens.0.finished.load(SeqCst)
        ),
        (1, 1),
        "Store::probe_finished is documented to end every granted probe; a RedisStore keeps \
         the fleet's token until its TTL"
    );
}

// ---------------------------------------------------------------------------------------------
// Finding 5: observe::Tracing never logs a refusal at DEBUG for a breaker that joins an open
// circuit.

#[test]
fn finding_5_a_breaker_joining_an_open_circuit_logs_its_first_refusal_at_debug() {
    logs();
    let store = MemoryStore::new();
    let (builder, clock) = manual("joined_open_traced");
    let first = builder
        .store(store.clone())
        .open_for(60 * SEC)
        .build()
        .unwrap();
    let _ = first.call(fail);
    // A process restarting into a circuit that the fleet (Redis) holds open does the same.
    let joined = Breaker::builder("joined_open_traced")
        .store(store)
        .clock(clock)
        .listener(observe::Tracing::new())
        .build()
        .unwrap();
    for _ in 0..3 {
        assert!(refuses(&joined));
    }

    let first_refusals: Vec<String> = containing("`joined_open_traced` is open")
        .into_iter()
        .filter(|l| l.contains(" DEBUG "))
        .collect();
    assert_eq!(
        first_refusals.len(),
        1,
        "every refusal went to TRACE: BreakerInfo::state says the circuit is open, but Log \
         starts with `opened = false`"
    );
}

// ---------------------------------------------------------------------------------------------
// Finding 7: outcomes are heard before they are counted (the docs said counted first; they now
// say so).

/// Reads its breaker's stats when told of a failure.
#[derive(Default)]
struct Inspects {
    breaker: OnceLock<Breaker>,
    failures_seen: Mutex<Vec<u64>>,
}

impl Listener for Inspects {
    fn hears(&self) -> Events {
        Events::FAILURES
    }
    fn on_failure(&self, _: &str) {
        let breaker = self.breaker.get().unwrap();
        self.failures_seen
            .lock()
            .unwrap()
            .push(breaker.stats().failures);
    }
}

#[test]
fn finding_7_a_listener_hears_an_outcome_just_before_it_is_counted() {
    let inspects = Arc::new(Inspects::default());
    let (builder, _clock) = manual("inspected");
    let breaker = builder.listener(inspects.clone()).build().unwrap();
    let _ = inspects.breaker.set(breaker.clone());
    let _ = breaker.call(fail);
    assert_eq!(
        *inspects.failures_seen.lock().unwrap(),
        [0],
        "Listener's docs: stats read in on_failure do not include that failure yet"
    );
    assert_eq!(
        breaker.stats().failures,
        1,
        "counted once the listeners heard it"
    );
}

// ---------------------------------------------------------------------------------------------
// Finding 8: hostile circuit names forge log lines through observe::Tracing's message.

#[test]
fn finding_8_a_circuit_name_cannot_forge_a_log_line() {
    logs();
    let name = String::from("forged_name\n2026-01-01T00:00:00Z  WARN failfast: payments: closed");
    let (builder, _clock) = manual(name);
    let breaker = builder.listener(observe::Tracing::new()).build().unwrap();
    let _ = breaker.call(fail);
    assert!(refuses(&breaker));

    let lines = containing("forged_name");
    assert!(!lines.is_empty());
    for line in &lines {
        assert!(
            !line.contains('\n'),
            "the name is written raw into the message (the `circuit` field is escaped): {line:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Finding 9: a reason with a non-finite rate serializes to JSON that does not read back.

#[test]
fn finding_9_a_non_finite_rate_either_fails_to_serialize_or_reads_back() {
    for reason in [
        Reason::FailureRate(f64::NAN),
        Reason::SlowCallRate(f64::INFINITY),
    ] {
        if let Ok(text) = serde_json::to_string(&reason) {
            let back = serde_json::from_str::<Reason>(&text);
            assert!(
                back.is_ok(),
                "{reason:?} was written as {text}, which does not read back: {back:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Sound: what the review attacked and found to hold.

#[test]
fn sound_malformed_json_is_an_error_never_a_panic() {
    let inputs = [
        "",
        "{",
        "null",
        "[]",
        "\"\"",
        r#"{"phase":"open"}"#,
        r#"{"phase":"open","retry_in_ms":-1}"#,
        r#"{"phase":"open","retry_in_ms":1.5}"#,
        r#"{"phase":"open","retry_in_ms":18446744073709551616}"#,
        r#"{"phase":"sideways"}"#,
        r#"{"phase":7}"#,
        r#"{"kind":"consecutive_failures","value":-1}"#,
        r#"{"kind":"consecutive_failures","value":4294967296}"#,
        r#"{"kind":"failure_rate","value":"NaN"}"#,
        r#"{"kind":"failure_rate"}"#,
        r#"{"kind":"remote","value":{"deep":[1,2,3]}}"#,
        r#"{"kind":"no_such_reason"}"#,
        r#"{"calls":-1}"#,
        r#"{"calls":"many"}"#,
        r#"{"name":7,"from":"closed","to":"open","reason":{"kind":"forced"},"open_for_ms":1}"#,
        r#"{"name":"x","from":"closed","to":"open","reason":{"kind":"forced"},"open_for_ms":-5}"#,
        &format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
    ];
    for input in inputs {
        let outcome = catch_unwind(|| {
            (
                serde_json::from_str::<State>(input).is_err(),
                serde_json::from_str::<Reason>(input).is_err(),
                serde_json::from_str::<Transition>(input).is_err(),
                serde_json::from_str::<Phase>(input).is_err(),
            )
        });
        let (state, reason, transition, phase) =
            outcome.unwrap_or_else(|_| panic!("a panic reading {input:.60}"));
        assert!(state && reason && transition && phase, "{input:.60}");
        // Stats read missing counts as zero, but never a wrong type.
        if input.starts_with("{\"calls\"") {
            assert!(serde_json::from_str::<Stats>(input).is_err(), "{input}");
        }
    }
    let huge = "n".repeat(1 << 20);
    let text = format!(
        r#"{{"name":"{huge}","from":"open","to":"half_open","reason":{{"kind":"remote"}},"open_for_ms":null}}"#
    );
    let transition: Transition = serde_json::from_str(&text).unwrap();
    assert_eq!(transition.name.len(), 1 << 20);
}

/// Panics on every event it is told of.
struct Panics;

impl Listener for Panics {
    fn on_transition(&self, _: &Transition) {
        panic!("on_transition");
    }
    fn on_rejected(&self, _: &Open) {
        panic!("on_rejected");
    }
    fn on_success(&self, _: &str) {
        panic!("on_success");
    }
    fn on_failure(&self, _: &str) {
        panic!("on_failure");
    }
    fn on_ignored(&self, _: &str) {
        panic!("on_ignored");
    }
}

#[test]
fn sound_a_panicking_listener_leaves_counts_metrics_and_state_right() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        let tally = Arc::new(Tally::default());
        let (builder, clock) = manual("panicky_listener");
        let breaker = builder
            .open_for(SEC)
            .listener(Panics)
            .listener(observe::Metrics::new())
            .listener(tally.clone())
            .build()
            .unwrap();
        let quiet = |f: &dyn Fn()| assert!(catch_unwind(AssertUnwindSafe(f)).is_err());
        quiet(&|| drop(breaker.call(ok)));
        quiet(&|| drop(breaker.call_if(|_| false, fail)));
        quiet(&|| drop(breaker.call(fail))); // opens
        quiet(&|| drop(breaker.call(ok))); // refused
        quiet(&|| clock.advance(SEC)); // half-open
        quiet(&|| drop(breaker.call(ok))); // the probe closes it
        quiet(&|| breaker.force_open(SEC));
        quiet(&|| breaker.reset());
        // Nothing is poisoned: the breaker and its listeners go on.
        assert!(breaker.state().is_closed());

        let stats = breaker.stats();
        assert_eq!(
            (
                stats.successes,
                stats.failures,
                stats.ignored,
                stats.rejected
            ),
            (2, 1, 1, 1)
        );
        assert_eq!(stats.transitions, 5);
        assert_eq!(
            tally.all(),
            [5, 1, 2, 1, 1],
            "the other listeners heard all"
        );
        let metrics = snapshot(&snapshotter);
        assert_eq!(states(&metrics, "panicky_listener"), CLOSED);
        let calls = |outcome| {
            value(
                &metrics,
                "failfast_calls_total",
                &[("circuit", "panicky_listener"), ("outcome", outcome)],
            )
        };
        assert_eq!(
            [
                calls("success"),
                calls("failure"),
                calls("ignored"),
                calls("rejected")
            ],
            [Some(2.0), Some(1.0), Some(1.0), Some(1.0)]
        );
    });
}

/// Gives each breaker a listener that hears nothing; itself hears (and tallies) everything.
struct AttachesDeaf(Arc<Tally>, Arc<Tally>);

impl Listener for AttachesDeaf {
    fn attach(&self, _: &BreakerInfo<'_>) -> Option<Arc<dyn Listener>> {
        Some(Arc::new(Hearing(Events::NONE, self.1.clone())))
    }
    fn on_transition(&self, t: &Transition) {
        self.0.on_transition(t)
    }
    fn on_rejected(&self, open: &Open) {
        self.0.on_rejected(open)
    }
    fn on_success(&self, name: &str) {
        self.0.on_success(name)
    }
    fn on_failure(&self, name: &str) {
        self.0.on_failure(name)
    }
    fn on_ignored(&self, name: &str) {
        self.0.on_ignored(name)
    }
}

#[test]
fn sound_a_listener_hears_only_what_it_says_on_every_path_remote_included() {
    let store = MemoryStore::new();
    let none = Arc::new(Tally::default());
    let rejections = Arc::new(Tally::default());
    let asked_at_build = Arc::new(Tally::default());
    let attached = Arc::new(Tally::default());
    let (heard, hear) = mpsc::channel::<(Phase, Reason)>();
    let (builder, clock) = manual("hears_subsets");
    let breaker = builder
        .store(store.clone())
        .open_for(SEC)
        .listener(Hearing(Events::NONE, none.clone()))
        .listener(Hearing(Events::REJECTIONS, rejections.clone()))
        .listener(AttachesDeaf(asked_at_build.clone(), attached.clone()))
        // Last, so that by the time it hears a transition the others have been offered it.
        .on_transition(move |t| heard.send((t.to, t.reason)).unwrap())
        .build()
        .unwrap();
    let next = || hear.recv_timeout(Duration::from_secs(60)).unwrap();

    let _ = breaker.call(ok);
    let _ = breaker.call_if(|_| false, fail);
    let _ = breaker.call(fail);
    assert_eq!(next(), (Phase::Open, Reason::ConsecutiveFailures(1)));
    assert!(refuses(&breaker));
    clock.advance(SEC);
    assert_eq!(next(), (Phase::HalfOpen, Reason::OpenElapsed));
    let _ = breaker.call(fail); // the probe fails
    assert_eq!(next(), (Phase::Open, Reason::ProbeFailed));
    breaker.force_open(SEC);
    assert_eq!(next(), (Phase::Open, Reason::Forced));
    breaker.reset();
    assert_eq!(next(), (Phase::Closed, Reason::Reset));
    let circuit = store.circuit(&"hears_subsets".into(), &|| unreachable!());
    circuit.open_remotely(60 * SEC); // delivered on failfast-events
    assert_eq!(next(), (Phase::Open, Reason::Remote));
    assert!(refuses(&breaker));
    circuit.close_remotely();
    assert_eq!(next(), (Phase::Closed, Reason::Remote));

    assert_eq!(none.all(), [0; 5]);
    assert_eq!(rejections.all(), [0, 2, 0, 0, 0]);
    assert_eq!(attached.all(), [0; 5]);
    assert_eq!(
        asked_at_build.all(),
        [0; 5],
        "replaced by what attach returned"
    );
}

#[test]
fn sound_a_panic_in_attach_or_hears_poisons_no_registry_lock() {
    struct PanicsOnce(AtomicBool, bool);
    impl Listener for PanicsOnce {
        fn hears(&self) -> Events {
            if self.1 && !self.0.swap(true, SeqCst) {
                panic!("hears");
            }
            Events::ALL
        }
        fn attach(&self, _: &BreakerInfo<'_>) -> Option<Arc<dyn Listener>> {
            if !self.1 && !self.0.swap(true, SeqCst) {
                panic!("attach");
            }
            None
        }
    }
    for in_hears in [false, true] {
        let (registry, _clock) = registry();
        registry.add_listener(PanicsOnce(AtomicBool::new(false), in_hears));
        registry.add_listener(observe::Metrics::new());
        let first = catch_unwind(AssertUnwindSafe(|| {
            registry.get_or_create("panics_once", 60 * SEC)
        }));
        assert!(first.is_err());
        assert!(registry.names().is_empty());
        let breaker = registry.get_or_create("panics_once", 60 * SEC);
        let _ = breaker.call(fail);
        assert!(breaker.state().is_open());
        assert_eq!(registry.breakers().len(), 1);
        registry.add_listener(Tally::default());
        registry.reset_all();
    }
}
