//! A panic in a guarded call is a failure, frees its permit, and keeps unwinding; a panic in
//! user code around it (a predicate, a listener, a store) never loses the call's outcome.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, LazyLock, Mutex};

use failfast::{Breaker, Builder, Circuit, ManualClock, MemoryStore, Name, Phase, Store, failfast};
use futures::executor::block_on;
use tests::{PlainClock, SEC, fail, manual, ok};

#[test]
fn a_panic_counts_as_a_failure_and_keeps_unwinding() {
    let (builder, _clock) = manual("panic");
    let breaker = builder.build().unwrap();
    let payload = catch_unwind(AssertUnwindSafe(|| {
        breaker.call(|| -> Result<(), ()> { panic!("bug") })
    }))
    .unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"bug"));
    assert_eq!(breaker.stats().failures, 1);
    assert!(breaker.state().is_open());
}

#[test]
fn a_panicking_probe_releases_its_permit_and_reopens() {
    let (builder, clock) = manual("panic_probe");
    let breaker = builder.open_for(SEC).build().unwrap();
    breaker.force_open(SEC);
    clock.advance(SEC);
    let _ = catch_unwind(AssertUnwindSafe(|| {
        breaker.call(|| -> Result<(), ()> { panic!("bug") })
    }));
    assert_eq!(breaker.state().phase(), Phase::Open);
    clock.advance(SEC);
    assert_eq!(breaker.call(ok).unwrap(), 1, "a new probe gets the permit");
}

/// Runs `f`, expecting it to panic.
fn panics(f: impl FnOnce()) {
    assert!(
        catch_unwind(AssertUnwindSafe(f)).is_err(),
        "expected a panic"
    );
}

/// A breaker whose circuit is half-open with one probe permit, on a manual clock.
fn half_open(
    name: &'static str,
    builder: impl FnOnce(Builder) -> Builder,
) -> (Breaker, ManualClock) {
    let (base, clock) = manual(name);
    let breaker = builder(base.open_for(SEC)).build().unwrap();
    breaker.force_open(SEC);
    clock.advance(SEC);
    assert_eq!(breaker.state().phase(), Phase::HalfOpen);
    (breaker, clock)
}

fn panicking_predicate(_: &&str) -> bool {
    panic!("bug in the predicate")
}

#[test]
fn a_panicking_predicate_counts_the_error_as_a_failure() {
    let (builder, _clock) = manual("panicky_predicate");
    let breaker = builder.build().unwrap();
    panics(|| drop(breaker.call_if(panicking_predicate, fail)));
    assert_eq!(breaker.stats().failures, 1);
    assert!(breaker.state().is_open());

    let (breaker, clock) = half_open("panicky_predicate_probe", |b| b);
    panics(|| drop(breaker.call_if(panicking_predicate, fail)));
    assert_eq!(breaker.state().phase(), Phase::Open, "the probe failed");
    clock.advance(SEC);
    assert_eq!(
        breaker.call(ok).unwrap(),
        1,
        "and gave its permit up at once"
    );

    let (breaker, clock) = half_open("panicky_predicate_async", |b| b);
    panics(|| {
        drop(block_on(
            breaker.run_if(panicking_predicate, async { fail() }),
        ))
    });
    assert_eq!(breaker.state().phase(), Phase::Open);
    clock.advance(SEC);
    assert_eq!(breaker.call(ok).unwrap(), 1);
}

#[test]
fn a_panicking_when_predicate_of_the_macro_counts_as_a_failure() {
    static CLOCK: LazyLock<ManualClock> = LazyLock::new(ManualClock::new);
    static BREAKER: LazyLock<Breaker> = LazyLock::new(|| {
        Breaker::builder("panicky_when")
            .clock(CLOCK.clone())
            .open_for(SEC)
            .build()
            .unwrap()
    });
    fn is_outage(_: &anyhow::Error) -> bool {
        panic!("bug in `when`")
    }
    #[failfast(breaker = BREAKER, when = is_outage)]
    fn guarded() -> anyhow::Result<()> {
        anyhow::bail!("down")
    }
    BREAKER.force_open(SEC);
    CLOCK.advance(SEC);
    panics(|| drop(guarded()));
    assert_eq!(BREAKER.state().phase(), Phase::Open);
    CLOCK.advance(SEC);
    assert_eq!(BREAKER.state().phase(), Phase::HalfOpen);
    assert!(BREAKER.try_acquire().is_ok(), "the permit was given back");
}

#[test]
fn outcomes_are_counted_even_when_a_listener_panics() {
    let (breaker, _clock) = half_open("panicky_success_listener", |b| {
        b.on_success(|_| panic!("bug in on_success"))
    });
    panics(|| drop(breaker.call(ok)));
    assert_eq!(
        breaker.state().phase(),
        Phase::Closed,
        "the probe's success closed it"
    );

    let (builder, _clock) = manual("panicky_failure_listener");
    let breaker = builder
        .on_failure(|_| panic!("bug in on_failure"))
        .build()
        .unwrap();
    panics(|| drop(breaker.call(fail)));
    assert!(breaker.state().is_open(), "the failure was counted");
    assert_eq!(breaker.stats().failures, 1);
}

#[test]
fn a_panicking_listener_does_not_keep_the_others_from_hearing() {
    let heard = Arc::new(Mutex::new(Vec::new()));
    let (builder, _clock) = manual("panicky_and_quiet");
    let breaker = builder
        .on_failure(|_| panic!("bug"))
        .on_failure({
            let heard = heard.clone();
            move |name| heard.lock().unwrap().push(format!("failure {name}"))
        })
        .on_transition(|_| panic!("bug"))
        .on_transition({
            let heard = heard.clone();
            move |t| heard.lock().unwrap().push(format!("{:?}", t.to))
        })
        .build()
        .unwrap();
    panics(|| drop(breaker.call(fail)));
    assert_eq!(
        *heard.lock().unwrap(),
        ["failure panicky_and_quiet", "Open"]
    );
}

#[test]
fn after_several_listeners_panic_the_rest_hear_and_the_first_panic_resumes() {
    let heard = Arc::new(Mutex::new(Vec::new()));
    let hear = |who: &'static str| {
        let heard = heard.clone();
        move |_: &str| heard.lock().unwrap().push(who)
    };
    let (builder, _clock) = manual("panicky_twice");
    let breaker = builder
        .on_success(hear("first"))
        .on_success(|_| panic!("first bug"))
        .on_success(hear("between"))
        .on_success(|_| panic!("second bug"))
        .on_success(hear("last"))
        .build()
        .unwrap();
    let payload = catch_unwind(AssertUnwindSafe(|| breaker.call(ok))).unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"first bug"));
    assert_eq!(*heard.lock().unwrap(), ["first", "between", "last"]);
    assert_eq!(breaker.stats().successes, 1, "the success was counted");
}

#[test]
fn a_listener_panicking_while_a_call_unwinds_does_not_abort() {
    let (builder, _clock) = manual("double_panic");
    let breaker = builder
        .on_failure(|_| panic!("bug in on_failure"))
        .build()
        .unwrap();
    let payload = catch_unwind(AssertUnwindSafe(|| {
        breaker.call(|| -> Result<(), ()> { panic!("bug in the call") })
    }))
    .unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"bug in the call"));
    assert!(breaker.state().is_open());
}

/// A store whose probe-token check panics.
#[derive(Debug, Default)]
struct PanickyStore(MemoryStore);

impl Store for PanickyStore {
    fn circuit(&self, name: &Name, create: &dyn Fn() -> Arc<Circuit>) -> Arc<Circuit> {
        self.0.circuit(name, create)
    }

    fn claim_probe(&self, _: &Circuit, _: failfast::ProbeClaim) -> bool {
        panic!("bug in the store")
    }
}

#[test]
fn a_store_that_panics_does_not_keep_the_probe_permit() {
    let (breaker, _clock) = half_open("panicky_store", |b| b.store(PanickyStore::default()));
    panics(|| drop(breaker.try_acquire()));
    panics(|| drop(breaker.try_acquire()));
    assert_eq!(
        breaker.stats().rejected,
        0,
        "each call reached the store: the permit was free"
    );
}

#[test]
fn a_listener_panicking_on_half_open_does_not_keep_the_probe_permit() {
    let clock = PlainClock::default();
    let breaker = Breaker::builder("panicky_half_open")
        .clock(clock.clone())
        .open_for(SEC)
        .on_transition(|t| {
            if t.to == Phase::HalfOpen {
                panic!("bug in on_transition")
            }
        })
        .build()
        .unwrap();
    let _ = breaker.call(fail);
    clock.set_secs(1);
    panics(|| drop(breaker.call(ok)));
    assert_eq!(breaker.state().phase(), Phase::HalfOpen);
    assert_eq!(breaker.call(ok).unwrap(), 1, "the permit was given back");
    assert!(breaker.state().is_closed());
}

#[test]
fn a_listener_of_a_panicking_probe_does_not_call_through_it() {
    static BREAKER: std::sync::OnceLock<Breaker> = std::sync::OnceLock::new();
    let refused_inside = Arc::new(Mutex::new(None));
    let (builder, clock) = manual("panicky_probe_listener");
    let breaker = builder
        .open_for(SEC)
        .on_failure({
            let refused_inside = refused_inside.clone();
            move |_| {
                let breaker = BREAKER.get().unwrap();
                *refused_inside.lock().unwrap() = Some(breaker.call(ok).is_err());
            }
        })
        .build()
        .unwrap();
    let breaker = BREAKER.get_or_init(|| breaker);
    breaker.force_open(SEC);
    clock.advance(SEC);
    panics(|| drop(breaker.call(|| -> Result<u32, &str> { panic!("bug in the probe") })));
    assert_eq!(
        *refused_inside.lock().unwrap(),
        Some(true),
        "the listener's call is not part of the probe that panicked"
    );
}
