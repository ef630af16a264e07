//! The in-process store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::{Circuit, Store};

/// Circuits shared by name within this process. Clones share the circuits.
///
/// Breakers built without a store each have a circuit of their own; breakers built with the same
/// `MemoryStore` share a circuit per name. The process-wide [`Registry`](crate::Registry) shares
/// whole breakers by name.
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
    circuits: Arc<Mutex<HashMap<&'static str, Arc<Circuit>>>>,
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
    pub fn names(&self) -> Vec<&'static str> {
        let circuits = self.circuits.lock().unwrap_or_else(|p| p.into_inner());
        circuits.keys().copied().collect()
    }
}

impl Store for MemoryStore {
    fn circuit(&self, name: &'static str, create: &dyn Fn() -> Arc<Circuit>) -> Arc<Circuit> {
        let mut circuits = self.circuits.lock().unwrap_or_else(|p| p.into_inner());
        circuits.entry(name).or_insert_with(create).clone()
    }
}
