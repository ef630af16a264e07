//! Where circuits live: the [`Store`] trait and the in-process [`MemoryStore`].
//!
//! A store hands out [`Circuit`]s by name, so that every breaker asking for a name shares one
//! circuit. Breakers only ever touch the circuit they were given, in memory; a store that shares
//! circuits with other processes does so beside the hot path: it subscribes to the circuit's
//! transitions ([`Circuit::subscribe`]) to publish them, applies the changes other processes
//! publish, and grants probe permits from what it already knows. None of its methods may wait
//! on the network.

mod memory;
#[cfg(feature = "redis")]
mod redis;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

#[cfg(feature = "redis")]
pub use self::redis::{RedisStore, RedisStoreBuilder, RedisStoreError};
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

    /// Whether this process may send a half-open probe through `circuit` now. The breaker
    /// has already taken one of its own `claim.probes` permits; a shared store grants the
    /// probe from a token it claimed for the fleet ahead of time, so that the whole fleet
    /// sends at most `claim.probes` probes at once to a recovering dependency. It must answer
    /// at once: it runs on the caller's thread, inside the call. The default grants every
    /// probe. A store that panics here refuses the probe: the permit is given back and the
    /// panic unwinds into the caller.
    ///
    /// Every probe granted here ends with [`Store::probe_finished`], given the same
    /// [`ProbeClaim::probe`].
    fn claim_probe(&self, circuit: &Circuit, claim: ProbeClaim) -> bool {
        let _ = (circuit, claim);
        true
    }

    /// The probe `probe` (its [`ProbeClaim::probe`]) that [`Store::claim_probe`] granted has
    /// finished, whatever its outcome (a success, a failure, an error that does not count, a
    /// call dropped before it ended), and the breaker has counted it: the store may hand its
    /// token to the next probe. The transition the outcome caused, if any, has already been
    /// delivered. The default does nothing.
    fn probe_finished(&self, circuit: &Circuit, probe: u64) {
        let _ = (circuit, probe);
    }

    /// A breaker that used `circuit` is gone (its last clone was dropped): the store may let go
    /// of the circuit if no other breaker uses it. The breaker's own reference is still counted
    /// while this runs, so a circuit held only by the store and that breaker has a strong count
    /// of 2. The default does nothing.
    fn released(&self, circuit: &Arc<Circuit>) {
        let _ = circuit;
    }
}

/// What a breaker asks for when it wants to send a half-open probe: see [`Store::claim_probe`].
///
/// ```
/// use std::time::Duration;
/// use failfast::{Breaker, Circuit, MemoryStore, Name, ProbeClaim, Store};
/// use std::sync::Arc;
///
/// /// Lets a probe through only if the breaker allows a single one at a time.
/// #[derive(Debug, Default)]
/// struct OneAtATime(MemoryStore);
///
/// impl Store for OneAtATime {
///     fn circuit(&self, name: &Name, create: &dyn Fn() -> Arc<Circuit>) -> Arc<Circuit> {
///         self.0.circuit(name, create)
///     }
///     fn claim_probe(&self, _circuit: &Circuit, claim: ProbeClaim) -> bool {
///         claim.probes == 1 && claim.ttl <= Duration::from_secs(60)
///     }
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProbeClaim {
    /// How many probes may run at once: the breaker's [`probes`](crate::Builder::probes) setting.
    pub probes: u32,
    /// How long the probe may hold its permit before it is handed to another call: the
    /// breaker's [`probe_timeout`](crate::Builder::probe_timeout). A fleet-wide token should
    /// expire after this long, so that a process that dies mid-probe gives its token up.
    pub ttl: Duration,
    /// Which probe this is, among the probes of the circuit: [`Store::probe_finished`] gets
    /// the same number when it ends.
    pub probe: u64,
}

impl<S: Store + ?Sized> Store for Arc<S> {
    fn circuit(&self, name: &Name, create: &dyn Fn() -> Arc<Circuit>) -> Arc<Circuit> {
        (**self).circuit(name, create)
    }

    fn claim_probe(&self, circuit: &Circuit, claim: ProbeClaim) -> bool {
        (**self).claim_probe(circuit, claim)
    }

    fn probe_finished(&self, circuit: &Circuit, probe: u64) {
        (**self).probe_finished(circuit, probe)
    }

    fn released(&self, circuit: &Arc<Circuit>) {
        (**self).released(circuit)
    }
}
