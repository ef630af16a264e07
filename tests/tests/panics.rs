//! A panic in a guarded call is a failure, frees its permit, and keeps unwinding.

use std::panic::{AssertUnwindSafe, catch_unwind};

use failfast::Phase;
use tests::{SEC, manual, ok};

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
