//! Calls nested in a probe of their own circuit.
//!
//! A guarded function that calls another guarded function on the same circuit (or itself, by
//! recursion) holds a half-open probe permit while the inner call asks for one. Were the inner
//! call refused, its [`Open`](crate::Open) would become the outer function's error and count as
//! the probe's failure: the circuit would reopen on every probe and never close. So while a probe
//! runs, its thread remembers it, and a call through the same circuit made on that thread during
//! the probe runs as part of the probe: it takes no permit, and the probe's outcome is the one
//! that counts.

use std::cell::RefCell;

use crate::circuit::Circuit;
use crate::permit::Ticket;

thread_local! {
    /// The probes running on this thread, innermost last: their circuit's address and the
    /// half-open generation they probe.
    static PROBING: RefCell<Vec<(usize, u32)>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` as part of the call `ticket` admitted: if it is a half-open probe, calls through
/// `circuit` that `f` makes on this thread join the probe.
#[inline(always)]
pub(crate) fn as_part_of<R>(circuit: &Circuit, ticket: Ticket, f: impl FnOnce() -> R) -> R {
    if ticket.is_probe() {
        let _probing = Probing::start(circuit, ticket.generation());
        f()
    } else {
        f()
    }
}

/// A probe running on this thread, remembered until dropped.
#[must_use]
pub(crate) struct Probing {
    /// Where it sits on this thread's list; `None` when the list is gone (the thread's locals
    /// are being destroyed), and nothing is remembered.
    depth: Option<usize>,
}

impl Probing {
    /// Remembers that a probe of `circuit`'s half-open `generation` runs on this thread.
    pub(crate) fn start(circuit: &Circuit, generation: u32) -> Probing {
        let depth = PROBING
            .try_with(|probing| {
                let mut probing = probing.borrow_mut();
                probing.push((address(circuit), generation));
                probing.len() - 1
            })
            .ok();
        Probing { depth }
    }
}

impl Drop for Probing {
    fn drop(&mut self) {
        if let Some(depth) = self.depth {
            let _ = PROBING.try_with(|probing| probing.borrow_mut().truncate(depth));
        }
    }
}

/// The half-open generation of a probe of `circuit` running on this thread, if there is one.
pub(crate) fn probe_running(circuit: &Circuit) -> Option<u32> {
    PROBING
        .try_with(|probing| {
            let circuit = address(circuit);
            let probing = probing.borrow();
            let running = probing.iter().rev().find(|(c, _)| *c == circuit);
            running.map(|&(_, generation)| generation)
        })
        .ok()
        .flatten()
}

fn address(circuit: &Circuit) -> usize {
    circuit as *const Circuit as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ClockHandle;

    #[test]
    fn a_probe_is_remembered_on_its_thread_until_dropped() {
        let (a, b) = (
            Circuit::new("a".into(), ClockHandle::System),
            Circuit::new("b".into(), ClockHandle::System),
        );
        assert_eq!(probe_running(&a), None);
        let outer = Probing::start(&a, 2);
        let inner = Probing::start(&b, 7);
        assert_eq!((probe_running(&a), probe_running(&b)), (Some(2), Some(7)));
        std::thread::scope(|s| {
            s.spawn(|| assert_eq!(probe_running(&a), None, "another thread's probe"));
        });
        drop(inner);
        assert_eq!(probe_running(&b), None);
        drop(outer);
        assert_eq!(probe_running(&a), None);
    }

    #[test]
    fn a_probe_dropped_by_unwinding_leaves_the_list_as_it_found_it() {
        let a = Circuit::new("a".into(), ClockHandle::System);
        let outer = Probing::start(&a, 2);
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _inner = Probing::start(&a, 4);
            panic!("in the probe");
        }));
        assert_eq!(probe_running(&a), Some(2));
        drop(outer);
        assert_eq!(PROBING.with(|p| p.borrow().len()), 0);
    }
}
