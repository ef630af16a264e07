//! The in-process store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use super::{Circuit, Store};
use crate::name::Name;

/// Circuits shared by name within this process. Clones share the circuits.
///
/// Breakers built without a store each have a circuit of their own; breakers built with the same
/// `MemoryStore` share a circuit per name. The process-wide [`Registry`](crate::Registry) shares
/// whole breakers by name.
///
/// The store keeps a circuit while a breaker uses it, and while it is open. When the last
/// breaker of a circuit is dropped, the store lets the circuit go, unless it is open: a new
/// breaker of that name then finds it open. An open circuit that no breaker uses is let go once
/// its period has ended, the next time the store grows. So a store that sees a name per host or
/// tenant keeps about the circuits in use.
///
/// ```
/// use failfast::{Breaker, MemoryStore};
/// let store = MemoryStore::new();
/// let checkout = Breaker::builder("payments").store(store.clone()).build()?;
/// let refunds = Breaker::builder("payments").store(store.clone()).build()?;
/// let _ = checkout.call(|| Err::<(), _>("gateway down"));
/// assert!(refunds.state().is_open(), "both use the `payments` circuit");
/// # Ok::<(), failfast::ConfigError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    circuits: Arc<Mutex<Circuits>>,
}

#[derive(Debug, Default)]
struct Circuits {
    by_name: HashMap<Name, Arc<Circuit>>,
    /// How many were kept the last time unused ones were let go.
    kept: usize,
}

impl MemoryStore {
    /// An empty store.
    ///
    /// ```
    /// use failfast::MemoryStore;
    /// assert!(MemoryStore::new().names().is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// The names of the circuits the store holds.
    ///
    /// ```
    /// use failfast::{Breaker, MemoryStore};
    /// let store = MemoryStore::new();
    /// let _breaker = Breaker::builder("payments").store(store.clone()).build()?;
    /// assert_eq!(store.names(), ["payments"]);
    /// # Ok::<(), failfast::ConfigError>(())
    /// ```
    pub fn names(&self) -> Vec<Name> {
        self.lock().by_name.keys().cloned().collect()
    }

    fn lock(&self) -> MutexGuard<'_, Circuits> {
        self.circuits.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Store for MemoryStore {
    fn circuit(&self, name: &Name, create: &dyn Fn() -> Arc<Circuit>) -> Arc<Circuit> {
        let mut circuits = self.lock();
        if let Some(circuit) = circuits.by_name.get(name) {
            return circuit.clone();
        }
        // Letting go of unused circuits whenever their number doubles costs a constant per name.
        if circuits.by_name.len() >= 2 * circuits.kept.max(8) {
            circuits
                .by_name
                .retain(|_, circuit| Arc::strong_count(circuit) > 1 || circuit.is_open_now());
            circuits.kept = circuits.by_name.len();
        }
        let circuit = create();
        circuits.by_name.insert(name.clone(), circuit.clone());
        circuit
    }

    fn released(&self, circuit: &Arc<Circuit>) {
        let mut circuits = self.lock();
        let unused = Arc::strong_count(circuit) <= 2 && !circuit.is_open_now();
        let kept = circuits.by_name.get(circuit.name().as_str());
        if unused && kept.is_some_and(|kept| Arc::ptr_eq(kept, circuit)) {
            circuits.by_name.remove(circuit.name().as_str());
        }
    }
}
