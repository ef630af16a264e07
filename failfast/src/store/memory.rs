//! The in-process store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::{Circuit, Store};

/// Circuits shared by name within this process. Clones share the circuits.
///
/// Breakers built without a store each have a circuit of their own; breakers built with the same
/// `MemoryStore` share a circuit per name. The process-wide [`Registry`](crate::Registry) shares
/// whole breakers by name.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    circuits: Arc<Mutex<HashMap<&'static str, Arc<Circuit>>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The names of the circuits the store holds.
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
