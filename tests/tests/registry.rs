//! The process-wide registry: one breaker per name, made with the start-up defaults.

use std::time::Duration;

use failfast::{MemoryStore, Registry, TripPolicy};
use tests::{SEC, fail, ok};

#[test]
fn the_same_name_gives_the_same_breaker() {
    let registry = Registry::new();
    let a = registry.get_or_create("crm", 30 * SEC);
    let b = registry.get_or_create(String::from("crm"), Duration::from_secs(1));
    let _ = a.call(fail);
    assert!(b.state().is_open());
    let failfast::State::Open { retry_in } = b.state() else {
        panic!("open expected");
    };
    assert!(
        retry_in > 29 * SEC,
        "the first settings (30 s, not 1 s) stand: {retry_in:?}"
    );
    assert!(registry.get("crm").unwrap().state().is_open());
    assert!(registry.get("erp").is_none());
}

#[test]
fn the_global_registry_is_one_per_process() {
    let a = Registry::global().get_or_create("global_registry_test", SEC);
    let b = Registry::global().get("global_registry_test").unwrap();
    let _ = a.call(fail);
    assert!(b.state().is_open());
    assert!(
        Registry::global()
            .names()
            .iter()
            .any(|n| n == "global_registry_test")
    );
}

#[test]
fn defaults_apply_to_breakers_made_afterwards() {
    let registry = Registry::new();
    let before = registry.get_or_create("before", SEC);
    registry.set_default_enabled(false);
    let store = MemoryStore::new();
    registry.set_default_store(store.clone());
    let after = registry.get_or_create("after", SEC);

    assert!(before.is_enabled());
    assert!(!after.is_enabled());
    assert_eq!(store.names(), ["after"]);
}

#[test]
fn get_or_build_configures_once_and_reports_bad_settings() {
    let registry = Registry::new();
    let breaker = registry
        .get_or_build("built", |b| b.trip(TripPolicy::consecutive_failures(2)))
        .unwrap();
    let _ = breaker.call(fail);
    assert!(breaker.state().is_closed());
    let again = registry
        .get_or_build("built", |_| panic!("not configured twice"))
        .unwrap();
    let _ = again.call(fail);
    assert!(breaker.state().is_open());

    let err = registry.get_or_build("bad", |b| b.probes(0)).unwrap_err();
    assert_eq!(err.setting(), "probes");
    assert!(registry.get("bad").is_none());
    let _ = registry.get_or_create("bad", SEC).call(ok);
}
