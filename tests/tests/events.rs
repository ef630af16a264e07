//! Listeners: what they hear, in what order, and calling back into the breaker.

use std::sync::{Arc, Mutex};

use failfast::{Breaker, Events, Listener, Open, Phase, Reason, Transition};
use tests::{Hearing, SEC, fail, manual, ok};

#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl Recorder {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

impl Listener for Recorder {
    fn on_transition(&self, t: &Transition) {
        let line = format!("{}: {:?} -> {:?} ({:?})", t.name, t.from, t.to, t.reason);
        self.0.lock().unwrap().push(line);
    }
    fn on_rejected(&self, open: &Open) {
        self.0
            .lock()
            .unwrap()
            .push(format!("rejected {}", open.name()));
    }
    fn on_success(&self, name: &str) {
        self.0.lock().unwrap().push(format!("success {name}"));
    }
    fn on_failure(&self, name: &str) {
        self.0.lock().unwrap().push(format!("failure {name}"));
    }
    fn on_ignored(&self, name: &str) {
        self.0.lock().unwrap().push(format!("ignored {name}"));
    }
}

#[test]
fn listeners_hear_every_event_in_order() {
    let recorder = Arc::new(Recorder::default());
    let (builder, clock) = manual("heard");
    let breaker = builder
        .open_for(SEC)
        .listener(recorder.clone())
        .build()
        .unwrap();

    let _ = breaker.call(ok);
    let _ = breaker.call_if(|_| false, fail);
    let _ = breaker.call(fail);
    let _ = breaker.call(ok);
    clock.advance(SEC);
    let _ = breaker.call(ok);
    breaker.force_open(SEC);
    breaker.reset();

    assert_eq!(
        recorder.take(),
        [
            "success heard",
            "ignored heard",
            "failure heard",
            "heard: Closed -> Open (ConsecutiveFailures(1))",
            "rejected heard",
            "heard: Open -> HalfOpen (OpenElapsed)",
            "success heard",
            "heard: HalfOpen -> Closed (ProbesSucceeded(1))",
            "heard: Closed -> Open (Forced)",
            "heard: Open -> Closed (Reset)",
        ]
    );
}

#[test]
fn a_listener_hears_only_the_events_it_wants_whatever_the_others_want() {
    let choosy = Arc::new(Hearing(
        Events::TRANSITIONS | Events::FAILURES,
        Recorder::default(),
    ));
    let everything = Arc::new(Recorder::default());
    let (builder, clock) = manual("choosy");
    let breaker = builder
        .open_for(SEC)
        .listener(choosy.clone())
        .listener(everything.clone())
        .build()
        .unwrap();

    let _ = breaker.call(ok);
    let _ = breaker.call_if(|_| false, fail);
    let _ = breaker.call(fail);
    let _ = breaker.call(ok);
    clock.advance(SEC);
    let _ = breaker.call(ok);

    assert_eq!(
        choosy.1.take(),
        [
            "failure choosy",
            "choosy: Closed -> Open (ConsecutiveFailures(1))",
            "choosy: Open -> HalfOpen (OpenElapsed)",
            "choosy: HalfOpen -> Closed (ProbesSucceeded(1))",
        ]
    );
    assert_eq!(everything.take().len(), 8, "the other listener hears all");
}

#[test]
fn a_listener_of_transitions_alone_is_told_nothing_of_calls() {
    let choosy = Arc::new(Hearing(Events::TRANSITIONS, Recorder::default()));
    let (builder, _clock) = manual("transitions_only");
    let breaker = builder.listener(choosy.clone()).build().unwrap();

    let _ = breaker.call(ok);
    let _ = breaker.call(fail);
    let _ = breaker.call(ok);

    assert_eq!(
        choosy.1.take(),
        ["transitions_only: Closed -> Open (ConsecutiveFailures(1))"]
    );
    let stats = breaker.stats();
    assert_eq!(
        (stats.successes, stats.failures, stats.rejected),
        (1, 1, 1),
        "the calls are counted all the same"
    );
}

#[test]
fn transitions_carry_the_open_period() {
    let (tx, rx) = std::sync::mpsc::channel();
    let (builder, _clock) = manual("period");
    let breaker = builder
        .open_for(7 * SEC)
        .on_transition(move |t| tx.send(t.clone()).unwrap())
        .build()
        .unwrap();
    let _ = breaker.call(fail);
    let transition = rx.try_recv().unwrap();
    assert_eq!(transition.to, Phase::Open);
    assert_eq!(transition.open_for, Some(7 * SEC));
    assert_eq!(transition.reason, Reason::ConsecutiveFailures(1));
}

#[test]
fn a_listener_may_call_back_into_the_breaker() {
    // On opening, the listener inspects the breaker, resets it and makes a call through it:
    // every lock must be released before listeners run.
    let slot: Arc<Mutex<Option<Breaker>>> = Arc::default();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (builder, _clock) = manual("reentrant");
    let breaker = builder
        .on_transition({
            let slot = slot.clone();
            let seen = seen.clone();
            move |t| {
                let Some(breaker) = slot.lock().unwrap().clone() else {
                    return;
                };
                seen.lock().unwrap().push((t.to, breaker.state().phase()));
                if t.to == Phase::Open {
                    breaker.reset();
                    let _ = breaker.call(ok);
                }
            }
        })
        .build()
        .unwrap();
    *slot.lock().unwrap() = Some(breaker.clone());

    let _ = breaker.call(fail);
    assert!(breaker.state().is_closed());
    assert_eq!(breaker.stats().successes, 1);
    assert_eq!(
        *seen.lock().unwrap(),
        [(Phase::Open, Phase::Open), (Phase::Closed, Phase::Closed)],
        "the reset made inside the listener is delivered after the transition that caused it"
    );
}

#[test]
fn a_panicking_listener_does_not_silence_later_events() {
    let (tx, rx) = std::sync::mpsc::channel();
    let (builder, _clock) = manual("panicky");
    let breaker = builder
        .on_transition(move |t| {
            tx.send(t.to).unwrap();
            if t.to == Phase::Open {
                panic!("listener bug");
            }
        })
        .build()
        .unwrap();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| breaker.call(fail)));
    assert!(caught.is_err());
    breaker.reset();
    assert_eq!(
        rx.try_iter().collect::<Vec<_>>(),
        [Phase::Open, Phase::Closed]
    );
}

#[test]
fn every_breaker_on_a_shared_circuit_hears_its_transitions() {
    let store = failfast::MemoryStore::new();
    let (tx, rx) = std::sync::mpsc::channel();
    let a = Breaker::builder("shared_events")
        .store(store.clone())
        .build()
        .unwrap();
    let _b = Breaker::builder("shared_events")
        .store(store)
        .on_transition(move |t| tx.send((t.from, t.to)).unwrap())
        .build()
        .unwrap();
    let _ = a.call(fail);
    assert_eq!(rx.try_recv().unwrap(), (Phase::Closed, Phase::Open));
}
