//! Where circuits live: the [`Store`] trait and the in-process [`MemoryStore`].
//!
//! A store hands out [`Circuit`]s by name, so that every breaker asking for a name shares one
//! circuit. Breakers only ever touch the circuit they were given, in memory; a store that shares
//! circuits with other processes does so beside the hot path: it subscribes to the circuit's
//! transitions ([`Circuit::subscribe`]) to publish them, applies the changes other processes
//! publish, and grants probe permits from what it already knows. None of its methods may wait
//! on the network.

mod memory;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

pub use crate::circuit::Circuit;
use crate::name::Name;
pub use memory::MemoryStore;

/// A place where circuits are shared by name.
///
/// ```
/// use std::time::Duration;
/// use failfast::{Breaker, MemoryStore};
///
/// let store = MemoryStore::new();
/// let a = Breaker::builder("ledger").store(store.clone()).build().unwrap();
/// let b = Breaker::builder("ledger").store(store.clone()).build().unwrap();
/// let _ = a.call(|| Err::<(), _>("ledger down"));
/// assert!(b.state().is_open(), "one name, one circuit");
/// ```
pub trait Store: Send + Sync + fmt::Debug + 'static {
    /// The circuit named `name`: the same one every time the name is asked for while a breaker
    /// uses it. `create` makes a new circuit (closed, on the asking breaker's clock) for a name
    /// the store does not hold.
    ///
    /// A store should not keep circuits that no breaker uses for ever: names may be made per
    /// host or tenant, for days.
    fn circuit(&self, name: &Name, create: &dyn Fn() -> Arc<Circuit>) -> Arc<Circuit>;

    /// Whether this process may send a half-open probe through `circuit` now, for at most
    /// `ttl`. A shared store grants this from a token it claimed ahead of time, expiring after
    /// `ttl`, so that the fleet probes a recovering dependency a few calls at a time. It must
    /// answer at once: it runs on the caller's thread, inside the call. The default grants
    /// every probe. A store that panics here refuses the probe: the permit is given back and
    /// the panic unwinds into the caller.
    fn claim_probe(&self, circuit: &Circuit, ttl: Duration) -> bool {
        let _ = (circuit, ttl);
        true
    }

    /// A breaker that used `circuit` is gone (its last clone was dropped): the store may let go
    /// of the circuit if no other breaker uses it. The breaker's own reference is still counted
    /// while this runs, so a circuit held only by the store and that breaker has a strong count
    /// of 2. The default does nothing.
    fn released(&self, circuit: &Arc<Circuit>) {
        let _ = circuit;
    }
}

impl<S: Store + ?Sized> Store for Arc<S> {
    fn circuit(&self, name: &Name, create: &dyn Fn() -> Arc<Circuit>) -> Arc<Circuit> {
        (**self).circuit(name, create)
    }

    fn claim_probe(&self, circuit: &Circuit, ttl: Duration) -> bool {
        (**self).claim_probe(circuit, ttl)
    }

    fn released(&self, circuit: &Arc<Circuit>) {
        (**self).released(circuit)
    }
}
