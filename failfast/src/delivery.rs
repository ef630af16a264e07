//! The `failfast-events` thread: delivers the transitions that the timer thread makes.
//!
//! When an open period on the system clock ends, the timer thread moves the circuit to
//! half-open and hands it here, and this thread tells the circuit's listeners. A listener that
//! blocks holds up the delivery of other transitions the timer made, never the transitions
//! themselves: no circuit stays open past its period because of a listener.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};

use crate::background;
use crate::circuit::Circuit;

struct Delivery {
    /// Circuits with transitions to deliver, each at most once.
    queue: Mutex<VecDeque<Arc<Circuit>>>,
    wake: Condvar,
}

impl Delivery {
    fn queue(&self) -> MutexGuard<'_, VecDeque<Arc<Circuit>>> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Delivers `circuit`'s queued transitions on the `failfast-events` thread; on this thread if
/// that thread cannot be started.
pub(crate) fn deliver(circuit: Arc<Circuit>) {
    static DELIVERY: OnceLock<Option<&'static Delivery>> = OnceLock::new();
    match *DELIVERY.get_or_init(start) {
        Some(delivery) => {
            if circuit.await_delivery() {
                delivery.queue().push_back(circuit);
                delivery.wake.notify_one();
            }
        }
        None => dispatch(&circuit),
    }
}

fn start() -> Option<&'static Delivery> {
    let delivery = Delivery {
        queue: Mutex::default(),
        wake: Condvar::new(),
    };
    background::start("failfast-events", delivery, run)
}

fn run(delivery: &'static Delivery) -> ! {
    loop {
        let circuit = {
            let mut queue = delivery.queue();
            loop {
                match queue.pop_front() {
                    Some(circuit) => break circuit,
                    None => queue = delivery.wake.wait(queue).unwrap_or_else(|p| p.into_inner()),
                }
            }
        };
        circuit.delivered();
        dispatch(&circuit);
    }
}

/// Delivers the circuit's transitions. A listener's panic has nobody to unwind to here; the
/// panic hook has reported it, and the other listeners have heard the transition.
fn dispatch(circuit: &Circuit) {
    let _ = catch_unwind(AssertUnwindSafe(|| circuit.dispatch()));
}
