//! The `failfast-timer` thread: rings the [`SystemClock`](crate::SystemClock)'s alarms.
//!
//! One thread serves the whole process. It sleeps until the earliest pending alarm is due, or
//! indefinitely when none is pending, so a process whose circuits are all closed pays nothing.
//! It runs no user code: it moves circuits whose open period ended to half-open and hands their
//! transitions to the `failfast-events` thread ([`crate::delivery`]), so that a listener that
//! blocks can delay no other circuit's half-open.
//!
//! Each circuit has at most one pending alarm: a new open period replaces the alarm of the last,
//! and a circuit that closes or is dropped takes its alarm back. So the alarms pending are never
//! more than the circuits open.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::time::Instant;

use crate::background;
use crate::circuit::precedes;
use crate::clock::Alarm;
use crate::delivery;

/// The alarms pending, by when they ring and by circuit (with the open period they end).
#[derive(Default)]
struct Alarms {
    by_time: BTreeMap<(Instant, usize), Alarm>,
    by_circuit: HashMap<usize, (Instant, u32)>,
}

impl Alarms {
    /// Sets `alarm` for `at`, in place of its circuit's alarm for an earlier open period; an
    /// alarm for an earlier period than the one pending (set late by a thread that lost a race)
    /// is dropped. Returns whether it is now the earliest.
    fn set(&mut self, at: Instant, alarm: Alarm) -> bool {
        let circuit = alarm.circuit_key();
        if let Some(&(_, pending)) = self.by_circuit.get(&circuit) {
            if precedes(alarm.generation, pending) {
                return false;
            }
        }
        self.cancel(circuit, None);
        self.by_circuit.insert(circuit, (at, alarm.generation));
        self.by_time.insert((at, circuit), alarm);
        self.by_time.keys().next() == Some(&(at, circuit))
    }

    /// Takes back the circuit's alarm: any, or only the one for the open period `generation`.
    fn cancel(&mut self, circuit: usize, generation: Option<u32>) {
        if let Some(&(at, pending)) = self.by_circuit.get(&circuit) {
            if generation.is_none_or(|generation| generation == pending) {
                self.by_circuit.remove(&circuit);
                self.by_time.remove(&(at, circuit));
            }
        }
    }

    /// The earliest alarm if it is due at `now`, taken out; otherwise when the earliest is due.
    fn take_due(&mut self, now: Instant) -> Result<Alarm, Option<Instant>> {
        match self.by_time.first_key_value() {
            Some((&(at, circuit), _)) if at <= now => {
                self.by_circuit.remove(&circuit);
                Ok(self
                    .by_time
                    .pop_first()
                    .map(|(_, alarm)| alarm)
                    .expect("just seen"))
            }
            Some((&(at, _), _)) => Err(Some(at)),
            None => Err(None),
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.by_time.len()
    }
}

struct Timer {
    alarms: Mutex<Alarms>,
    wake: Condvar,
}

static TIMER: OnceLock<Option<&'static Timer>> = OnceLock::new();

impl Timer {
    fn alarms(&self) -> MutexGuard<'_, Alarms> {
        self.alarms.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Arranges for `alarm` to ring at `at`, in place of any alarm its circuit had. Returns `false`
/// if the timer thread cannot be started, in which case the breaker falls back to reading the
/// clock on every rejected call.
pub(crate) fn schedule(at: Instant, alarm: Alarm) -> bool {
    let Some(timer) = *TIMER.get_or_init(start) else {
        return false;
    };
    let earliest = timer.alarms().set(at, alarm);
    if earliest {
        timer.wake.notify_one();
    }
    true
}

/// Takes back the pending alarm of the circuit at `circuit`: any, or only the one that ends the
/// open period `generation` (so that a circuit closing cannot take back the alarm of an open
/// period that began since).
pub(crate) fn cancel(circuit: usize, generation: Option<u32>) {
    if let Some(Some(timer)) = TIMER.get().copied() {
        timer.alarms().cancel(circuit, generation);
    }
}

/// How many alarms are pending.
#[cfg(test)]
pub(crate) fn pending() -> usize {
    match TIMER.get().copied() {
        Some(Some(timer)) => timer.alarms().len(),
        _ => 0,
    }
}

fn start() -> Option<&'static Timer> {
    let timer = Timer {
        alarms: Mutex::default(),
        wake: Condvar::new(),
    };
    background::start("failfast-timer", timer, run)
}

fn run(timer: &'static Timer) -> ! {
    let mut alarms = timer.alarms();
    loop {
        match alarms.take_due(Instant::now()) {
            Ok(due) => {
                drop(alarms);
                if let Some(circuit) = due.ring_quietly() {
                    delivery::deliver(circuit);
                }
                alarms = timer.alarms();
            }
            Err(Some(at)) => {
                let wait = at.saturating_duration_since(Instant::now());
                alarms = match timer.wake.wait_timeout(alarms, wait) {
                    Ok((guard, _)) => guard,
                    Err(poisoned) => poisoned.into_inner().0,
                };
            }
            Err(None) => {
                alarms = timer.wake.wait(alarms).unwrap_or_else(|p| p.into_inner());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::circuit::Circuit;
    use crate::clock::ClockHandle;

    fn alarm(circuit: &Arc<Circuit>) -> Alarm {
        alarm_for(circuit, 1)
    }

    fn alarm_for(circuit: &Arc<Circuit>, generation: u32) -> Alarm {
        Alarm {
            circuit: Arc::downgrade(circuit),
            generation,
        }
    }

    #[test]
    fn an_alarm_for_an_earlier_open_period_never_replaces_a_later_one() {
        let a = Circuit::new("a".into(), ClockHandle::System);
        let now = Instant::now();
        let mut alarms = Alarms::default();
        alarms.set(now + Duration::from_secs(60), alarm_for(&a, 7));
        // A thread that opened the circuit in generation 5 sets its alarm last.
        alarms.set(now + Duration::from_secs(10), alarm_for(&a, 5));
        assert!(
            matches!(alarms.take_due(now), Err(Some(at)) if at == now + Duration::from_secs(60))
        );
        // A thread that closed the circuit's period 5 takes back only that period's alarm.
        alarms.cancel(alarm(&a).circuit_key(), Some(5));
        assert_eq!(alarms.len(), 1);
        alarms.cancel(alarm(&a).circuit_key(), Some(7));
        assert_eq!(alarms.len(), 0);
    }

    /// Tests that count the process's pending alarms take turns.
    static COUNTING: Mutex<()> = Mutex::new(());

    #[test]
    fn a_dropped_open_breaker_takes_its_alarm_back() {
        let _turn = COUNTING.lock().unwrap_or_else(|p| p.into_inner());
        let before = pending();
        let breakers: Vec<_> = (0..100)
            .map(|_| crate::Breaker::new("dropped", Duration::from_secs(3600)))
            .collect();
        for breaker in &breakers {
            breaker.force_open(Duration::from_secs(3600));
        }
        assert_eq!(pending(), before + 100);
        drop(breakers);
        assert_eq!(pending(), before);
    }

    #[test]
    fn reopening_and_resetting_in_a_loop_keeps_one_alarm_at_most() {
        let _turn = COUNTING.lock().unwrap_or_else(|p| p.into_inner());
        let before = pending();
        let breaker = crate::Breaker::new("forever", Duration::from_secs(1));
        for _ in 0..10_000 {
            breaker.force_open(Duration::MAX);
            assert_eq!(pending(), before + 1);
            breaker.reset();
        }
        assert_eq!(pending(), before);
    }

    #[test]
    fn a_circuit_has_one_alarm_the_latest_set() {
        let (a, b) = (
            Circuit::new("a".into(), ClockHandle::System),
            Circuit::new("b".into(), ClockHandle::System),
        );
        let now = Instant::now();
        let mut alarms = Alarms::default();
        assert!(alarms.set(now + Duration::from_secs(60), alarm(&a)));
        assert!(!alarms.set(now + Duration::from_secs(90), alarm(&b)));
        assert!(
            !alarms.set(now + Duration::from_secs(120), alarm(&a)),
            "replaced"
        );
        assert_eq!(alarms.len(), 2);
        assert!(
            matches!(alarms.take_due(now), Err(Some(at)) if at == now + Duration::from_secs(90))
        );
        alarms.cancel(alarm(&b).circuit_key(), None);
        assert_eq!(alarms.len(), 1);
        let due = alarms.take_due(now + Duration::from_secs(120)).unwrap();
        assert_eq!(due.circuit_key(), alarm(&a).circuit_key());
        assert!(matches!(alarms.take_due(now), Err(None)));
        assert!(alarms.by_circuit.is_empty());
    }
}
