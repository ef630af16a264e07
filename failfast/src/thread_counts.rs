//! Counting calls without threads sharing memory, and without memory that grows with threads.
//!
//! Successes and rejections happen on the hot path, on every thread at once. Each thread counts
//! them in a cell of its own (one cache-line pair, never written by another thread), whose few
//! slots it lends to the breakers it calls: a slot holds one breaker's counts since the thread
//! started counting there. A breaker's [`Tally`] holds everything else: the rare counts
//! (failures, ignored and slow calls), and the counts that threads handed over when a slot went
//! to another breaker or the thread ended. Its stats are its tally plus the slots lent to it.
//!
//! So a breaker's memory does not grow with the threads that call it, and a thread's does not
//! grow with the breakers it calls. A thread that calls more breakers than it has slots counts
//! the extra ones in their tallies directly (an atomic add), and lends a slot to a breaker that
//! keeps missing it. A thread whose locals are being destroyed counts in the tallies too.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicU64, Ordering::Acquire, Ordering::Relaxed, Ordering::Release};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

/// Slots in a thread's cell: the breakers a thread can call in turn without an atomic add.
const SLOTS: usize = 4;

/// Misses of a lent slot, by other breakers, after which it is lent to the next one that asks.
const MISSES_BEFORE_LENDING_AGAIN: u32 = 64;

/// A counter that a thread keeps in its cell.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Hot {
    Success,
    Rejected,
}

/// A counter kept in the tally only.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Rare {
    Failure,
    Ignored,
    Slow,
}

/// One breaker's counts outside the threads' cells.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    successes: AtomicU64,
    rejected: AtomicU64,
    failures: AtomicU64,
    ignored: AtomicU64,
    slow: AtomicU64,
    /// Held while counts move from a slot into the tally, and while they are summed, so that a
    /// sum never sees them in both places or in neither.
    moving: Mutex<()>,
}

impl Tally {
    fn add(&self, hot: Hot, n: u64) {
        match hot {
            Hot::Success => self.successes.fetch_add(n, Relaxed),
            Hot::Rejected => self.rejected.fetch_add(n, Relaxed),
        };
    }

    fn moving(&self) -> MutexGuard<'_, ()> {
        self.moving.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A breaker's counters: its tally, and the identity its slots are lent under.
#[derive(Debug)]
pub(crate) struct Counters {
    /// Unique in the process, never reused: a slot lent to a dropped breaker is never read as
    /// another's.
    id: u64,
    tally: Arc<Tally>,
}

impl Default for Counters {
    fn default() -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        Counters {
            id: NEXT_ID.fetch_add(1, Relaxed),
            tally: Arc::default(),
        }
    }
}

/// What the counters hold now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counted {
    pub(crate) successes: u64,
    pub(crate) rejected: u64,
    pub(crate) failures: u64,
    pub(crate) ignored: u64,
    pub(crate) slow: u64,
}

impl Counters {
    /// Counts one success or rejection: in the calling thread's slot when it holds this breaker,
    /// which is a load, a compare and a store to memory no other thread writes.
    #[inline(always)]
    pub(crate) fn bump(&self, hot: Hot) {
        if let Some(cell) = CELL.get() {
            let slot = &cell.slots[self.id as usize % SLOTS];
            if slot.breaker.load(Relaxed) == self.id {
                slot.bump(hot);
                return;
            }
        }
        self.bump_elsewhere(hot);
    }

    #[cold]
    #[inline(never)]
    fn bump_elsewhere(&self, hot: Hot) {
        let counted = LENDER.try_with(|lender| {
            lender
                .borrow_mut()
                .get_or_insert_with(Lender::new)
                .bump(self, hot)
        });
        if counted.is_err() {
            self.tally.add(hot, 1);
        }
    }

    /// Counts one rare outcome.
    pub(crate) fn bump_rare(&self, rare: Rare) {
        let counter = match rare {
            Rare::Failure => &self.tally.failures,
            Rare::Ignored => &self.tally.ignored,
            Rare::Slow => &self.tally.slow,
        };
        counter.fetch_add(1, Relaxed);
    }

    /// Sums the tally and every slot lent to this breaker.
    pub(crate) fn sum(&self) -> Counted {
        let tally = &*self.tally;
        let _moving = tally.moving();
        let mut counted = Counted {
            successes: tally.successes.load(Relaxed),
            rejected: tally.rejected.load(Relaxed),
            failures: tally.failures.load(Relaxed),
            ignored: tally.ignored.load(Relaxed),
            slow: tally.slow.load(Relaxed),
        };
        for cell in &lock_cells().all {
            for slot in &cell.slots {
                if slot.breaker.load(Acquire) == self.id {
                    counted.successes += slot.successes.load(Relaxed);
                    counted.rejected += slot.rejected.load(Relaxed);
                }
            }
        }
        counted
    }
}

/// One breaker's counts in one thread's cell.
#[derive(Debug, Default)]
struct Slot {
    /// The id of the breaker the slot is lent to; zero if none.
    breaker: AtomicU64,
    successes: AtomicU64,
    rejected: AtomicU64,
}

impl Slot {
    /// Only the cell's thread writes a slot, so a load and a store count exactly.
    #[inline(always)]
    fn bump(&self, hot: Hot) {
        let counter = match hot {
            Hot::Success => &self.successes,
            Hot::Rejected => &self.rejected,
        };
        counter.store(counter.load(Relaxed) + 1, Relaxed);
    }
}

/// A thread's counts. Aligned to 128 bytes so that two threads' cells never share a cache line,
/// nor the pair of lines some processors fetch together.
#[derive(Debug, Default)]
#[repr(align(128))]
struct ThreadCell {
    slots: [Slot; SLOTS],
}

/// Every cell ever made, and those whose thread has ended, to be given to the next thread.
#[derive(Default)]
struct Cells {
    all: Vec<&'static ThreadCell>,
    free: Vec<&'static ThreadCell>,
}

fn lock_cells() -> MutexGuard<'static, Cells> {
    static CELLS: Mutex<Cells> = Mutex::new(Cells {
        all: Vec::new(),
        free: Vec::new(),
    });
    CELLS.lock().unwrap_or_else(|p| p.into_inner())
}

thread_local! {
    /// This thread's cell, for the hot path: a plain thread-local read, with no destructor to
    /// register or check.
    static CELL: Cell<Option<&'static ThreadCell>> = const { Cell::new(None) };

    /// This thread's cell and the tallies of the breakers its slots are lent to. Its destructor
    /// hands the slots' counts over and gives the cell back when the thread ends.
    static LENDER: RefCell<Option<Lender>> = const { RefCell::new(None) };
}

/// The owner of this thread's cell.
struct Lender {
    cell: &'static ThreadCell,
    /// For each slot, the tally of the breaker it is lent to.
    tallies: [Weak<Tally>; SLOTS],
    /// For each slot, how many times another breaker missed it since it was lent.
    misses: [u32; SLOTS],
}

impl Lender {
    fn new() -> Lender {
        let cell = {
            let mut cells = lock_cells();
            cells.free.pop().unwrap_or_else(|| {
                let cell: &'static ThreadCell = Box::leak(Box::default());
                cells.all.push(cell);
                cell
            })
        };
        CELL.set(Some(cell));
        Lender {
            cell,
            tallies: Default::default(),
            misses: [0; SLOTS],
        }
    }

    fn bump(&mut self, counters: &Counters, hot: Hot) {
        let index = counters.id as usize % SLOTS;
        let slot = &self.cell.slots[index];
        let lent_to = slot.breaker.load(Relaxed);
        if lent_to != counters.id {
            let in_use = lent_to != 0 && self.tallies[index].strong_count() > 0;
            if in_use && self.misses[index] < MISSES_BEFORE_LENDING_AGAIN {
                self.misses[index] += 1;
                counters.tally.add(hot, 1);
                return;
            }
            self.take_back(index);
            self.tallies[index] = Arc::downgrade(&counters.tally);
            self.misses[index] = 0;
            slot.breaker.store(counters.id, Release);
        }
        slot.bump(hot);
    }

    /// Hands slot `index`'s counts over to the tally of the breaker it was lent to, and frees it.
    fn take_back(&mut self, index: usize) {
        let slot = &self.cell.slots[index];
        let tally = std::mem::take(&mut self.tallies[index]).upgrade();
        let _moving = tally.as_ref().map(|tally| tally.moving());
        if let Some(tally) = &tally {
            tally.add(Hot::Success, slot.successes.load(Relaxed));
            tally.add(Hot::Rejected, slot.rejected.load(Relaxed));
        }
        slot.successes.store(0, Relaxed);
        slot.rejected.store(0, Relaxed);
        slot.breaker.store(0, Release);
    }
}

impl Drop for Lender {
    fn drop(&mut self) {
        CELL.set(None);
        for index in 0..SLOTS {
            self.take_back(index);
        }
        lock_cells().free.push(self.cell);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on_a_thread<T: Send>(f: impl FnOnce() -> T + Send) -> T {
        std::thread::scope(|s| s.spawn(f).join().unwrap())
    }

    #[test]
    fn counts_in_slots_and_tallies_sum_up() {
        let breakers: Vec<Counters> = (0..SLOTS * 3).map(|_| Counters::default()).collect();
        on_a_thread(|| {
            for round in 0..200 {
                for (i, counters) in breakers.iter().enumerate() {
                    if round % (i + 1) == 0 {
                        counters.bump(Hot::Success);
                    }
                    counters.bump(Hot::Rejected);
                }
            }
            for (i, counters) in breakers.iter().enumerate() {
                let counted = counters.sum();
                assert_eq!(counted.successes, 200_u64.div_ceil(i as u64 + 1));
                assert_eq!(counted.rejected, 200);
            }
        });
        for (i, counters) in breakers.iter().enumerate() {
            let counted = counters.sum();
            assert_eq!(
                counted.successes,
                200_u64.div_ceil(i as u64 + 1),
                "handed over"
            );
            assert_eq!(counted.rejected, 200);
        }
    }

    #[test]
    fn a_slot_lent_to_a_dropped_breaker_is_lent_again_at_once() {
        on_a_thread(|| {
            let first = Counters::default();
            first.bump(Hot::Success);
            let index = first.id as usize % SLOTS;
            drop(first);
            let mut second = Counters::default();
            while second.id as usize % SLOTS != index {
                second = Counters::default();
            }
            second.bump(Hot::Success);
            let cell = CELL.get().unwrap();
            assert_eq!(cell.slots[index].breaker.load(Relaxed), second.id);
            assert_eq!(cell.slots[index].successes.load(Relaxed), 1);
        });
    }

    #[test]
    fn a_thread_ends_and_its_cell_goes_to_the_next() {
        let counters = Counters::default();
        on_a_thread(|| counters.bump(Hot::Success));
        assert_eq!(counters.sum().successes, 1);
        let cells = lock_cells().all.len();
        for _ in 0..100 {
            on_a_thread(|| counters.bump(Hot::Success));
        }
        // Other tests' threads may hold cells meanwhile, but not a hundred.
        assert!(
            lock_cells().all.len() < cells + 50,
            "cells are given to the next thread"
        );
        assert_eq!(counters.sum().successes, 101);
    }
}
