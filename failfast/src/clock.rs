//! Time as the breaker sees it: the [`Clock`] trait, the [`SystemClock`] and a [`ManualClock`] for tests.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use crate::circuit::Circuit;
use crate::event::{each_caught, resume_unless_unwinding};
use crate::timer;

/// A monotonic source of time, injectable so that tests control it.
///
/// A breaker reads its clock to measure slow calls, to place calls in time windows and to decide
/// when an open circuit may let a probe through. The clock may also take [`Alarm`]s, rung when
/// an open period ends: the circuit then moves to half-open and its listeners hear it at once,
/// without waiting for a call. A clock that cannot ring alarms keeps the default
/// [`Clock::set_alarm`], and the circuit moves when a call or [`state`](crate::Breaker::state)
/// next looks. Either way a rejected call reads [`Clock::now`], so an alarm rung late, or never,
/// keeps no circuit open past its period. (The [`SystemClock`]'s alarms, rung by a thread that
/// runs no user code, let rejected calls skip reading the clock altogether: that is what keeps
/// rejection at a few nanoseconds.)
///
/// ```
/// use std::time::Duration;
/// use failfast::{Breaker, ManualClock};
///
/// let clock = ManualClock::new();
/// let breaker = Breaker::builder("inventory")
///     .open_for(Duration::from_secs(30))
///     .clock(clock.clone())
///     .build()
///     .unwrap();
/// let _ = breaker.call(|| Err::<(), _>("down"));
/// assert!(breaker.state().is_open());
/// clock.advance(Duration::from_secs(30));
/// assert!(breaker.state().is_half_open());
/// ```
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// Time elapsed since this clock's origin. It must never go backwards by itself; a test clock
    /// that is set backwards is survived, not relied upon. It must not panic: it is read while a
    /// guarded call that panicked unwinds, where a second panic aborts the process.
    fn now(&self) -> Duration;

    /// Asks the clock to ring `alarm` once `now()` has reached `at`. Returns `false` when the
    /// clock cannot (the default), and then `alarm` is dropped unrung.
    ///
    /// Ringing runs the circuit's listeners on the ringing thread, and may set a new alarm on
    /// this clock (a probe made by a listener fails and the circuit opens again): do not hold a
    /// lock of the clock's while ringing, and expect [`Alarm::ring`] to unwind if a listener
    /// panics.
    fn set_alarm(&self, at: Duration, alarm: Alarm) -> bool {
        let _ = (at, alarm);
        false
    }
}

/// A wake-up call for an open circuit, handed to [`Clock::set_alarm`]: when rung, the circuit
/// moves from open to half-open if its open period has ended and nothing else changed it since.
///
/// Holding an alarm does not keep its circuit alive, and ringing a stale alarm does nothing.
///
/// ```
/// use std::sync::Mutex;
/// use std::time::Duration;
/// use failfast::{Alarm, Clock};
///
/// /// A clock for a simulation: time is whatever the simulation says; alarms wait in a list.
/// #[derive(Debug, Default)]
/// struct SimClock {
///     now: Mutex<Duration>,
///     alarms: Mutex<Vec<(Duration, Alarm)>>,
/// }
///
/// impl Clock for SimClock {
///     fn now(&self) -> Duration {
///         *self.now.lock().unwrap()
///     }
///     fn set_alarm(&self, at: Duration, alarm: Alarm) -> bool {
///         self.alarms.lock().unwrap().push((at, alarm));
///         true
///     }
/// }
/// # let clock = SimClock::default();
/// # assert_eq!(clock.now(), Duration::ZERO);
/// ```
#[derive(Debug)]
pub struct Alarm {
    pub(crate) circuit: Weak<Circuit>,
    pub(crate) generation: u32,
}

impl Alarm {
    /// Rings the alarm: moves its circuit to half-open if its open period has ended and nothing
    /// changed it since, and delivers the transition to the circuit's listeners on this thread.
    /// If a listener panics, the circuit has moved and the other listeners have heard it; the
    /// panic then unwinds from here.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::{Breaker, ManualClock};
    /// // ManualClock rings alarms as it is advanced; a clock of your own calls `ring` the same way.
    /// let clock = ManualClock::new();
    /// let breaker = Breaker::builder("rung").clock(clock.clone()).open_for(Duration::from_secs(1)).build()?;
    /// breaker.force_open(Duration::from_secs(1));
    /// clock.advance(Duration::from_secs(1)); // rings the alarm
    /// assert!(breaker.state().is_half_open());
    /// # Ok::<(), failfast::ConfigError>(())
    /// ```
    pub fn ring(self) {
        if let Some(circuit) = self.circuit.upgrade() {
            circuit.on_alarm(self.generation);
        }
    }

    /// Whether ringing the alarm would do nothing: its circuit is gone, or has left the open
    /// period the alarm was set for. A clock that keeps many alarms can drop the stale ones, so
    /// that what it keeps is bounded by the circuits open.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use std::time::Duration;
    /// use failfast::{Alarm, Breaker, Clock};
    ///
    /// #[derive(Debug, Default, Clone)]
    /// struct Keeper(Arc<Mutex<Vec<Alarm>>>);
    /// impl Clock for Keeper {
    ///     fn now(&self) -> Duration { Duration::ZERO }
    ///     fn set_alarm(&self, _at: Duration, alarm: Alarm) -> bool {
    ///         let mut alarms = self.0.lock().unwrap();
    ///         alarms.retain(|a| !a.is_stale());
    ///         alarms.push(alarm);
    ///         true
    ///     }
    /// }
    ///
    /// let clock = Keeper::default();
    /// let breaker = Breaker::builder("kept").clock(clock.clone()).build()?;
    /// breaker.force_open(Duration::from_secs(60));
    /// breaker.reset();
    /// assert!(clock.0.lock().unwrap()[0].is_stale(), "the circuit closed");
    /// # Ok::<(), failfast::ConfigError>(())
    /// ```
    pub fn is_stale(&self) -> bool {
        self.circuit
            .upgrade()
            .is_none_or(|circuit| !circuit.is_open_in(self.generation))
    }

    /// Ends the open period if it is still the circuit's, without telling the listeners:
    /// returns the circuit if they have a transition to hear.
    pub(crate) fn ring_quietly(self) -> Option<Arc<Circuit>> {
        let circuit = self.circuit.upgrade()?;
        circuit.end_open_period(self.generation).then_some(circuit)
    }

    /// Which circuit the alarm is for, as the timer keys it.
    pub(crate) fn circuit_key(&self) -> usize {
        Weak::as_ptr(&self.circuit) as usize
    }
}

/// The process's monotonic clock ([`Instant`]); the default clock of every breaker.
///
/// Its alarms are rung by one background thread, `failfast-timer`, started the first time a
/// circuit on this clock opens; it sleeps until the next open period ends.
///
/// ```
/// use failfast::{Clock, SystemClock};
/// let earlier = SystemClock.now();
/// assert!(SystemClock.now() >= earlier);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl SystemClock {
    fn origin() -> Instant {
        static ORIGIN: OnceLock<Instant> = OnceLock::new();
        *ORIGIN.get_or_init(Instant::now)
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        Self::origin().elapsed()
    }

    fn set_alarm(&self, at: Duration, alarm: Alarm) -> bool {
        match Self::origin().checked_add(at) {
            Some(at) => timer::schedule(at, alarm),
            // Beyond what this platform's clock can name: an alarm that never rings.
            None => true,
        }
    }
}

/// tokio's clock (feature `tokio`): it follows `tokio::time`, so under
/// `#[tokio::test(start_paused = true)]` a breaker on it moves with `tokio::time::advance` and
/// with the sleeps that paused time skips. Outside a runtime with paused time it is the system's
/// monotonic time.
///
/// It sets no alarms: an open circuit on it reads the clock on each call to learn whether its
/// open period has ended.
///
/// Each `#[tokio::test]` has a runtime of its own, whose paused time starts when the runtime is
/// built. A breaker made in one test and called in another (a `#[failfast("name", ..)]`
/// function's, made once per process) reads the time of the runtime it is called in: its
/// readings start a day in, so a runtime that began before the clock was made reads earlier
/// times rather than a standstill at zero.
///
/// ```
/// use std::time::Duration;
/// use failfast::{Breaker, TokioClock};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let breaker = Breaker::builder("tokio_clock_doc")
///     .open_for(Duration::from_secs(5))
///     .clock(TokioClock::new())
///     .build()
///     .unwrap();
/// breaker.force_open(Duration::from_secs(5));
/// tokio::time::sleep(Duration::from_secs(5)).await; // skipped at once: time is paused
/// assert!(breaker.state().is_half_open());
/// # }
/// ```
#[cfg(feature = "tokio")]
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    origin: tokio::time::Instant,
}

/// Where a [`TokioClock`]'s readings start: instants up to this long before its origin (another
/// runtime's paused time, begun earlier) read as earlier times, not as zero.
#[cfg(feature = "tokio")]
const TOKIO_CLOCK_LEAD: Duration = Duration::from_secs(24 * 60 * 60);

#[cfg(feature = "tokio")]
impl TokioClock {
    /// A clock whose time starts now, at one day.
    pub fn new() -> Self {
        TokioClock {
            origin: tokio::time::Instant::now(),
        }
    }
}

#[cfg(feature = "tokio")]
impl Default for TokioClock {
    fn default() -> Self {
        TokioClock::new()
    }
}

#[cfg(feature = "tokio")]
impl Clock for TokioClock {
    fn now(&self) -> Duration {
        let now = tokio::time::Instant::now();
        match now.checked_duration_since(self.origin) {
            Some(since) => TOKIO_CLOCK_LEAD.saturating_add(since),
            None => TOKIO_CLOCK_LEAD.saturating_sub(self.origin - now),
        }
    }
}

/// A clock that moves only when told to: for tests, and for simulations.
///
/// Clones share one time. [`ManualClock::advance`] and [`ManualClock::set`] ring every alarm that
/// has come due before they return, so a test sees the circuit half-open right after advancing.
/// Alarms of circuits that closed or were dropped are let go, so the alarms kept are bounded by
/// the circuits open.
///
/// ```
/// use std::time::Duration;
/// use failfast::{Clock, ManualClock};
///
/// let clock = ManualClock::new();
/// clock.advance(Duration::from_millis(1500));
/// assert_eq!(clock.now(), Duration::from_millis(1500));
/// ```
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    shared: Arc<ManualShared>,
}

#[derive(Debug, Default)]
struct ManualShared {
    nanos: AtomicU64,
    alarms: Mutex<ManualAlarms>,
}

/// The alarms a manual clock keeps, and how many were left the last time stale ones were let go.
#[derive(Debug, Default)]
struct ManualAlarms {
    pending: Vec<(Duration, Alarm)>,
    kept: usize,
}

impl ManualClock {
    /// A clock standing at zero.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::{Clock, ManualClock};
    /// assert_eq!(ManualClock::new().now(), Duration::ZERO);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward by `by` and rings the alarms that came due. The clock saturates
    /// at its greatest reading rather than wrap around.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::{Clock, ManualClock};
    /// let clock = ManualClock::new();
    /// clock.advance(Duration::from_secs(3));
    /// clock.advance(Duration::from_secs(4));
    /// assert_eq!(clock.now(), Duration::from_secs(7));
    /// ```
    pub fn advance(&self, by: Duration) {
        let by = nanos(by);
        let advance = |now: u64| Some(now.saturating_add(by));
        let before = self
            .shared
            .nanos
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, advance);
        let now = before.map_or(u64::MAX, |before| before.saturating_add(by));
        self.ring_due(Duration::from_nanos(now));
    }

    /// Sets the clock to `to`, forwards or backwards, and rings the alarms that came due.
    /// Setting it backwards imitates a clock that jumps, which a breaker must survive.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::{Clock, ManualClock};
    /// let clock = ManualClock::new();
    /// clock.set(Duration::from_secs(100));
    /// clock.set(Duration::from_secs(40)); // backwards
    /// assert_eq!(clock.now(), Duration::from_secs(40));
    /// ```
    pub fn set(&self, to: Duration) {
        self.shared.nanos.store(nanos(to), Ordering::SeqCst);
        self.ring_due(to);
    }

    fn ring_due(&self, now: Duration) {
        let due: Vec<Alarm> = {
            let mut alarms = self.shared.alarms.lock().unwrap_or_else(|p| p.into_inner());
            let (due, pending) = alarms.pending.drain(..).partition(|(at, _)| *at <= now);
            alarms.pending = pending;
            due.into_iter().map(|(_, alarm)| alarm).collect()
        };
        // Every due alarm rings, even if a listener panics on one; the first panic goes on.
        if let Some(panic) = each_caught(due, Alarm::ring) {
            resume_unless_unwinding(panic);
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.shared.nanos.load(Ordering::SeqCst))
    }

    fn set_alarm(&self, at: Duration, alarm: Alarm) -> bool {
        let mut alarms = self.shared.alarms.lock().unwrap_or_else(|p| p.into_inner());
        // Read under the lock: an `advance` that moves past `at` after this reading rings the
        // alarm pushed below, as its ringing waits for the lock.
        if at <= self.now() {
            drop(alarms);
            alarm.ring();
            return true;
        }
        // Letting go of stale alarms whenever their number doubles costs a constant per alarm.
        if alarms.pending.len() >= 2 * alarms.kept.max(8) {
            alarms.pending.retain(|(_, alarm)| !alarm.is_stale());
            alarms.kept = alarms.pending.len();
        }
        alarms.pending.push((at, alarm));
        true
    }
}

/// The clock a circuit runs on. The system clock is a variant of its own so that reading it is a
/// direct, inlinable call rather than a virtual one.
#[derive(Debug, Clone)]
pub(crate) enum ClockHandle {
    System,
    Custom(Arc<dyn Clock>),
}

impl ClockHandle {
    /// Nanoseconds since the clock's origin.
    #[inline]
    pub(crate) fn now(&self) -> u64 {
        match self {
            ClockHandle::System => nanos(SystemClock.now()),
            ClockHandle::Custom(clock) => nanos(clock.now()),
        }
    }

    pub(crate) fn set_alarm(&self, at: u64, alarm: Alarm) -> bool {
        let at = Duration::from_nanos(at);
        match self {
            ClockHandle::System => SystemClock.set_alarm(at, alarm),
            ClockHandle::Custom(clock) => clock.set_alarm(at, alarm),
        }
    }

    /// Takes back the pending alarm of `circuit` (any, or only the one ending the open period
    /// `generation`), where the clock allows it. Other clocks let stale alarms go as they see
    /// fit ([`Alarm::is_stale`]).
    pub(crate) fn cancel_alarm(&self, circuit: &Circuit, generation: Option<u32>) {
        if let ClockHandle::System = self {
            timer::cancel(circuit as *const Circuit as usize, generation);
        }
    }
}

/// The longest duration a breaker keeps, about 292 years: longer ones (an open period of
/// `Duration::MAX`, say) saturate to it, so that every reading of it agrees.
pub(crate) const MAX_NANOS: u64 = i64::MAX as u64;

/// A duration as whole nanoseconds, saturating at [`MAX_NANOS`].
#[inline]
pub(crate) fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).map_or(MAX_NANOS, |n| n.min(MAX_NANOS))
}

/// The reading `by` nanoseconds after `now`, saturating at [`MAX_NANOS`] as readings do: a time
/// beyond the last reading would never come.
#[inline]
pub(crate) fn later(now: u64, by: u64) -> u64 {
    now.saturating_add(by).min(MAX_NANOS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Breaker;

    #[test]
    fn a_manual_clock_lets_go_of_the_alarms_of_circuits_that_closed_or_were_dropped() {
        let clock = ManualClock::new();
        let kept = |clock: &ManualClock| clock.shared.alarms.lock().unwrap().pending.len();
        let breaker = Breaker::builder("reset")
            .clock(clock.clone())
            .build()
            .unwrap();
        for _ in 0..10_000 {
            breaker.force_open(Duration::from_secs(3600));
            breaker.reset();
        }
        assert!(kept(&clock) <= 16, "{}", kept(&clock));
        for _ in 0..10_000 {
            let dropped = Breaker::builder("dropped")
                .clock(clock.clone())
                .build()
                .unwrap();
            dropped.force_open(Duration::from_secs(3600));
        }
        assert!(kept(&clock) <= 16, "{}", kept(&clock));
        let open = Breaker::builder("open")
            .clock(clock.clone())
            .build()
            .unwrap();
        open.force_open(Duration::from_secs(3600));
        clock.advance(Duration::from_secs(3600));
        assert!(
            open.state().is_half_open(),
            "the live alarm was kept, and rang"
        );
    }
}
