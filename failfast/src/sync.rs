//! The synchronisation primitives the circuit is built on: std's, or loom's when model checking.

#[cfg(failfast_loom)]
pub(crate) use loom::sync::atomic::AtomicU64;
#[cfg(failfast_loom)]
pub(crate) use loom::sync::{Mutex, MutexGuard};

#[cfg(not(failfast_loom))]
pub(crate) use std::sync::atomic::AtomicU64;
#[cfg(not(failfast_loom))]
pub(crate) use std::sync::{Mutex, MutexGuard};

/// Locks `mutex`, carrying on through poisoning: every critical section in this crate leaves the
/// data consistent before it calls anything that can panic, so a poisoned lock holds valid data.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}
