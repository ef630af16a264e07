//! The `failfast-timer` thread: rings the [`SystemClock`](crate::SystemClock)'s alarms.
//!
//! One thread serves the whole process. It sleeps until the earliest pending alarm is due, or
//! indefinitely when none is pending, so a process whose circuits are all closed pays nothing.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::Instant;

use crate::clock::Alarm;

struct Timer {
    queue: Mutex<BinaryHeap<Reverse<Entry>>>,
    wake: Condvar,
}

struct Entry {
    at: Instant,
    sequence: u64,
    alarm: Alarm,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.sequence) == (other.at, other.sequence)
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.sequence).cmp(&(other.at, other.sequence))
    }
}

/// Arranges for `alarm` to ring at `at`. Returns `false` if the timer thread cannot be started,
/// in which case the breaker falls back to reading the clock on every rejected call.
pub(crate) fn schedule(at: Instant, alarm: Alarm) -> bool {
    static TIMER: OnceLock<Option<&'static Timer>> = OnceLock::new();
    static SEQUENCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let Some(timer) = *TIMER.get_or_init(start) else {
        return false;
    };
    let sequence = SEQUENCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut queue = timer.queue.lock().unwrap_or_else(|p| p.into_inner());
    let earliest = queue.peek().is_none_or(|Reverse(first)| at < first.at);
    queue.push(Reverse(Entry {
        at,
        sequence,
        alarm,
    }));
    drop(queue);
    if earliest {
        timer.wake.notify_one();
    }
    true
}

fn start() -> Option<&'static Timer> {
    let timer: &'static Timer = Box::leak(Box::new(Timer {
        queue: Mutex::new(BinaryHeap::new()),
        wake: Condvar::new(),
    }));
    std::thread::Builder::new()
        .name("failfast-timer".into())
        .spawn(move || run(timer))
        .ok()
        .map(|_| timer)
}

fn run(timer: &Timer) -> ! {
    let mut queue = timer.queue.lock().unwrap_or_else(|p| p.into_inner());
    loop {
        let now = Instant::now();
        match queue.peek() {
            Some(Reverse(first)) if first.at <= now => {
                let Some(Reverse(due)) = queue.pop() else {
                    continue;
                };
                drop(queue);
                // A listener that panics on the transition must not take the timer down with
                // it: every open circuit on the system clock depends on this thread.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| due.alarm.ring()));
                queue = timer.queue.lock().unwrap_or_else(|p| p.into_inner());
            }
            Some(Reverse(first)) => {
                let wait = first.at - now;
                queue = match timer.wake.wait_timeout(queue, wait) {
                    Ok((guard, _)) => guard,
                    Err(poisoned) => poisoned.into_inner().0,
                };
            }
            None => {
                queue = timer.wake.wait(queue).unwrap_or_else(|p| p.into_inner());
            }
        }
    }
}
