//! The state of one named circuit, shared by every breaker (and, through a store, every process)
//! that uses the name.
//!
//! Reading is lock-free: the phase and a generation number are packed into one atomic word, which
//! the hot path loads and nothing more. Every change happens under one mutex, which makes each
//! transition atomic (exactly one breaker wins a race to open the circuit) and hands out the
//! half-open probe permits. A call remembers the generation it was admitted in, so an outcome
//! that arrives after the circuit moved on is not counted against the new period.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use crate::backoff::Backoff;
use crate::clock::{Alarm, ClockHandle, later, nanos};
use crate::delivery;
use crate::event::{Listener, Reason, Transition, each_caught, resume_unless_unwinding};
use crate::half_open::{HalfOpenSettings, ProbeVerdict, Probes};
use crate::name::Name;
use crate::state::{Phase, State};
use crate::sync::{AtomicU64, Mutex, MutexGuard, lock};

const PHASE_MASK: u64 = 0b011;
const CLOSED: u64 = 0b000;
const OPEN: u64 = 0b001;
const HALF_OPEN: u64 = 0b010;
/// Set on an open word when an alarm will end the open period, so a rejection need not read the clock.
const ALARMED: u64 = 0b100;

/// What a breaker tells its circuit about how transitions go.
#[derive(Debug, Clone)]
pub(crate) struct TransitionSettings {
    pub(crate) half_open: HalfOpenSettings,
    pub(crate) backoff: Backoff,
}

/// What the fast path makes of the circuit's word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fast {
    /// Closed in this generation: run the call.
    Closed(u32),
    /// Open, and an alarm will end it: refuse the call, retry at the given time.
    Refuse(u64),
    /// Anything else: ask [`Circuit::admit`].
    Ask,
}

/// How [`Circuit::admit`] lets a call through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// The circuit is closed in this generation.
    Closed(u32),
    /// A half-open probe permit: its generation and id.
    Probe(u32, u32),
}

/// What a store brings a circuit to, following the fleet.
#[cfg_attr(not(feature = "redis"), allow(dead_code))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RemotePhase {
    /// Open for this much longer.
    Open(Duration),
    /// Probing: the fleet's open period has ended.
    HalfOpen,
    Closed,
}

/// How a probe ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProbeOutcome {
    Success,
    Failure,
    /// Neither: its error did not count, or it was dropped before finishing.
    Neutral,
}

/// The shared state of the circuit with a given name.
///
/// A [`Store`](crate::Store) hands circuits out by name; breakers read and change them. Its
/// public surface is what a store needs to observe the circuit.
///
/// ```
/// use std::sync::Arc;
/// use failfast::{Circuit, MemoryStore, Store};
/// let store = MemoryStore::new();
/// let breaker = failfast::Breaker::builder("ledger").store(store.clone()).build()?;
/// let circuit: Arc<Circuit> = store.circuit(&"ledger".into(), &|| unreachable!("the breaker made it"));
/// assert_eq!(circuit.name(), "ledger");
/// assert!(circuit.state().is_closed());
/// # let _ = breaker;
/// # Ok::<(), failfast::ConfigError>(())
/// ```
pub struct Circuit {
    name: Name,
    clock: ClockHandle,
    word: AtomicU64,
    /// The end of the current open period, written before `word` is published.
    until: AtomicU64,
    inner: Mutex<Inner>,
    transitions: AtomicU64,
    observers: Mutex<Vec<Weak<dyn Listener>>>,
    pending: Mutex<Pending>,
    /// Whether the circuit waits in the delivery thread's queue.
    awaiting_delivery: AtomicBool,
    /// Told of every transition as it is made: see [`Circuit::watch`].
    watcher: OnceLock<Weak<dyn Listener>>,
}

#[derive(Debug)]
struct Inner {
    generation: u32,
    phase: Phase,
    until: u64,
    /// Consecutive open periods, for the backoff; zero once closed.
    opens: u32,
    probes: Probes,
}

impl Circuit {
    /// A closed circuit named `name`, on the clock `clock`.
    pub(crate) fn new(name: Name, clock: ClockHandle) -> Arc<Circuit> {
        Arc::new(Circuit {
            name,
            clock,
            word: AtomicU64::new(CLOSED),
            until: AtomicU64::new(0),
            inner: Mutex::new(Inner {
                generation: 0,
                phase: Phase::Closed,
                until: 0,
                opens: 0,
                probes: Probes::default(),
            }),
            transitions: AtomicU64::new(0),
            observers: Mutex::new(Vec::new()),
            pending: Mutex::new(Pending::default()),
            awaiting_delivery: AtomicBool::new(false),
            watcher: OnceLock::new(),
        })
    }

    /// The circuit's name.
    ///
    /// ```
    /// use failfast::{MemoryStore, Store};
    /// let store = MemoryStore::new();
    /// let breaker = failfast::Breaker::builder("ledger").store(store.clone()).build()?;
    /// let circuit = store.circuit(&"ledger".into(), &|| unreachable!());
    /// assert_eq!(circuit.name(), "ledger");
    /// # Ok::<(), failfast::ConfigError>(())
    /// ```
    pub fn name(&self) -> &Name {
        &self.name
    }

    /// How many transitions the circuit has made.
    ///
    /// ```
    /// use failfast::{MemoryStore, Store};
    /// let store = MemoryStore::new();
    /// let breaker = failfast::Breaker::builder("ledger").store(store.clone()).build()?;
    /// let circuit = store.circuit(&"ledger".into(), &|| unreachable!());
    /// let _ = breaker.call(|| Err::<(), _>("down"));
    /// assert_eq!(circuit.transitions(), 1);
    /// # Ok::<(), failfast::ConfigError>(())
    /// ```
    pub fn transitions(&self) -> u64 {
        self.transitions.load(Relaxed)
    }

    /// Adds an observer of the circuit's transitions, kept for as long as it lives elsewhere.
    /// A store subscribes to the circuits it hands out to share their transitions.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use failfast::{Listener, Phase, Transition};
    ///
    /// #[derive(Default)]
    /// struct Publisher(Mutex<Vec<Phase>>);
    /// impl Listener for Publisher {
    ///     fn on_transition(&self, t: &Transition) {
    ///         self.0.lock().unwrap().push(t.to); // a fleet store would send it to its peers
    ///     }
    /// }
    ///
    /// use failfast::{MemoryStore, Store};
    /// let store = MemoryStore::new();
    /// let breaker = failfast::Breaker::builder("ledger").store(store.clone()).build()?;
    /// let circuit = store.circuit(&"ledger".into(), &|| unreachable!());
    /// let publisher = Arc::new(Publisher::default());
    /// let observer: Arc<dyn Listener> = publisher.clone();
    /// circuit.subscribe(Arc::downgrade(&observer));
    /// let _ = breaker.call(|| Err::<(), _>("down"));
    /// assert_eq!(*publisher.0.lock().unwrap(), [Phase::Open]);
    /// # Ok::<(), failfast::ConfigError>(())
    /// ```
    pub fn subscribe(&self, observer: Weak<dyn Listener>) {
        let mut observers = lock(&self.observers);
        observers.retain(|o| o.strong_count() > 0);
        observers.push(observer);
    }

    pub(crate) fn clock(&self) -> &ClockHandle {
        &self.clock
    }

    /// The hot path's whole view of the circuit: one atomic load, and a second when refusing.
    #[inline(always)]
    pub(crate) fn fast(&self) -> Fast {
        let word = self.word.load(Acquire);
        match word & (PHASE_MASK | ALARMED) {
            CLOSED => Fast::Closed(generation(word)),
            w if w == OPEN | ALARMED => Fast::Refuse(self.until.load(Relaxed)),
            _ => Fast::Ask,
        }
    }

    /// The circuit's current generation.
    pub(crate) fn generation(&self) -> u32 {
        generation(self.word.load(Acquire))
    }

    /// Whether the circuit is half-open in `generation`.
    pub(crate) fn is_half_open_in(&self, generation: u32) -> bool {
        self.word.load(Acquire) == pack(HALF_OPEN, generation)
    }

    /// Lets a call through if the circuit allows it, moving an open circuit whose period has
    /// ended to half-open. Otherwise returns when to retry.
    pub(crate) fn admit(self: &Arc<Self>, settings: &TransitionSettings) -> Result<Admission, u64> {
        let now = self.clock.now();
        if self.word.load(Acquire) & PHASE_MASK == OPEN {
            // Still open: refuse without the lock, as a clock without alarms asks on every call.
            let until = self.until.load(Relaxed);
            if now < until {
                return Err(until);
            }
        }
        let mut inner = lock(&self.inner);
        match inner.phase {
            Phase::Closed => return Ok(Admission::Closed(inner.generation)),
            Phase::Open if now < inner.until => return Err(inner.until),
            Phase::Open => self.enter(&mut inner, Phase::HalfOpen, Reason::OpenElapsed, None),
            Phase::HalfOpen => {}
        }
        let admitted = inner.probes.admit(now, &settings.half_open);
        let generation = inner.generation;
        drop(inner);
        // A listener that panics on the move to half-open must not keep the permit.
        let permit = admitted.ok().map(|id| GiveBackOnUnwind {
            circuit: self,
            generation,
            id,
        });
        self.dispatch();
        std::mem::forget(permit);
        admitted.map(|id| Admission::Probe(generation, id))
    }

    /// Opens the circuit if it is still closed in `generation`: the policy tripped.
    pub(crate) fn trip(
        self: &Arc<Self>,
        generation: u32,
        reason: Reason,
        settings: &TransitionSettings,
    ) {
        let mut inner = lock(&self.inner);
        if inner.generation != generation || inner.phase != Phase::Closed {
            return;
        }
        let opened = self.open(&mut inner, reason, settings);
        drop(inner);
        self.after_open(opened);
    }

    /// Records how probe `id` of half-open period `generation` ended.
    pub(crate) fn finish_probe(
        self: &Arc<Self>,
        generation: u32,
        id: u32,
        outcome: ProbeOutcome,
        settings: &TransitionSettings,
    ) {
        let mut inner = lock(&self.inner);
        if inner.generation != generation || inner.phase != Phase::HalfOpen {
            return;
        }
        let verdict = match outcome {
            ProbeOutcome::Neutral => {
                inner.probes.release(id);
                return;
            }
            ProbeOutcome::Success => inner.probes.finish(id, true, &settings.half_open),
            ProbeOutcome::Failure => inner.probes.finish(id, false, &settings.half_open),
        };
        let opened = match verdict {
            ProbeVerdict::Stale | ProbeVerdict::Pending => None,
            ProbeVerdict::Close(successes) => {
                inner.opens = 0;
                let reason = Reason::ProbesSucceeded(successes);
                self.enter(&mut inner, Phase::Closed, reason, None);
                None
            }
            ProbeVerdict::Reopen => Some(self.open(&mut inner, Reason::ProbeFailed, settings)),
        };
        drop(inner);
        match opened {
            Some(opened) => self.after_open(opened),
            None => self.dispatch(),
        }
    }

    /// Opens the circuit for `duration`, whatever its phase.
    pub(crate) fn force_open(self: &Arc<Self>, duration: Duration) {
        self.open_whatever_the_phase(duration, Reason::Forced);
    }

    /// Closes the circuit and forgets its history, whatever its phase.
    pub(crate) fn reset(self: &Arc<Self>) {
        self.close(Reason::Reset);
    }

    /// Opens the circuit for `remaining`, because another process sharing it opened it: what a
    /// store calls when its subscription brings news of an opening. Observers see a transition
    /// with [`Reason::Remote`], on the `failfast-events` thread: a store's own thread never runs
    /// listeners, so a listener that blocks cannot hold up the store.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::{Breaker, MemoryStore, Store};
    ///
    /// let store = MemoryStore::new();
    /// let breaker = Breaker::builder("ledger").store(store.clone()).build()?;
    /// let circuit = store.circuit(&"ledger".into(), &|| unreachable!());
    /// circuit.open_remotely(Duration::from_secs(20));
    /// assert!(breaker.call(|| Ok::<_, ()>(())).unwrap_err().is_open());
    /// # Ok::<(), failfast::ConfigError>(())
    /// ```
    pub fn open_remotely(self: &Arc<Self>, remaining: Duration) {
        self.open_whatever_the_phase(remaining, Reason::Remote);
    }

    /// Closes the circuit because another process sharing it closed it. Observers see a
    /// transition with [`Reason::Remote`], on the `failfast-events` thread.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::{Breaker, MemoryStore, Store};
    ///
    /// let store = MemoryStore::new();
    /// let breaker = Breaker::builder("ledger").store(store.clone()).build()?;
    /// breaker.force_open(Duration::from_secs(60));
    /// store.circuit(&"ledger".into(), &|| unreachable!()).close_remotely();
    /// assert!(breaker.state().is_closed());
    /// # Ok::<(), failfast::ConfigError>(())
    /// ```
    pub fn close_remotely(self: &Arc<Self>) {
        self.close(Reason::Remote);
    }

    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    /// Brings the circuit to `phase` because the fleet's record says so, unless the circuit
    /// has made a transition since the store saw `seen` of them: then the store has news of
    /// its own to push first. Returns whether it changed the circuit.
    pub(crate) fn follow_remote(self: &Arc<Self>, phase: RemotePhase, seen: u64) -> bool {
        let mut inner = lock(&self.inner);
        if self.transitions.load(Relaxed) != seen {
            return false;
        }
        match phase {
            RemotePhase::Open(remaining) => {
                let (generation, until) = self.open_for(&mut inner, remaining, Reason::Remote);
                drop(inner);
                self.arm(generation, until);
            }
            RemotePhase::HalfOpen => self.leave_open(inner, Phase::HalfOpen, Reason::Remote),
            RemotePhase::Closed => self.close_locked(inner, Reason::Remote),
        }
        self.announce(Reason::Remote);
        true
    }

    /// Where the circuit stands, without moving it: an open period that has ended is reported
    /// as half-open, but not entered. Reads the clock only when open.
    /// Whether a call now would be refused: open with time left, or half-open with every
    /// probe permit held.
    #[cfg(feature = "tower")]
    #[cold]
    pub(crate) fn refuses_now(&self, settings: &HalfOpenSettings) -> bool {
        let now = self.clock.now();
        let inner = lock(&self.inner);
        match inner.phase {
            Phase::Closed => false,
            Phase::Open => now < inner.until,
            Phase::HalfOpen => !inner.probes.has_room(now, settings),
        }
    }

    pub(crate) fn peek(&self) -> State {
        self.view(self.word.load(Acquire))
    }

    /// What the word `word` says of the circuit now.
    fn view(&self, word: u64) -> State {
        match word & PHASE_MASK {
            CLOSED => State::Closed,
            HALF_OPEN => State::HalfOpen,
            _ => {
                let now = self.clock.now();
                let until = self.until.load(Relaxed);
                if now < until {
                    State::Open {
                        retry_in: Duration::from_nanos(until - now),
                    }
                } else {
                    State::HalfOpen
                }
            }
        }
    }

    fn open_whatever_the_phase(self: &Arc<Self>, duration: Duration, reason: Reason) {
        let mut inner = lock(&self.inner);
        let (generation, until) = self.open_for(&mut inner, duration, reason);
        drop(inner);
        self.arm(generation, until);
        self.announce(reason);
    }

    fn close(self: &Arc<Self>, reason: Reason) {
        let inner = lock(&self.inner);
        self.close_locked(inner, reason);
        self.announce(reason);
    }

    /// Closes the circuit, then lets go of its lock.
    fn close_locked(self: &Arc<Self>, mut inner: MutexGuard<'_, Inner>, reason: Reason) {
        inner.opens = 0;
        self.leave_open(inner, Phase::Closed, reason);
    }

    /// Moves the circuit to `to`, closed or half-open, then lets go of its lock and of the
    /// alarm of the open period it left, if it was open.
    fn leave_open(self: &Arc<Self>, mut inner: MutexGuard<'_, Inner>, to: Phase, reason: Reason) {
        let left_open = (inner.phase == Phase::Open).then_some(inner.generation);
        self.enter(&mut inner, to, reason, None);
        drop(inner);
        if let Some(generation) = left_open {
            self.clock.cancel_alarm(self, Some(generation));
        }
    }

    /// Delivers the transitions queued by a change made for `reason`: here, unless the change
    /// came from another process, whose store's thread must not run listeners.
    fn announce(self: &Arc<Self>, reason: Reason) {
        if reason == Reason::Remote {
            delivery::deliver(self.clone());
        } else {
            self.dispatch();
        }
    }

    /// Where the circuit stands now. An open period that has ended is reported (and entered)
    /// as half-open.
    ///
    /// ```
    /// use failfast::{MemoryStore, Store};
    /// let store = MemoryStore::new();
    /// let breaker = failfast::Breaker::builder("ledger").store(store.clone()).build()?;
    /// let circuit = store.circuit(&"ledger".into(), &|| unreachable!());
    /// breaker.force_open(std::time::Duration::from_secs(5));
    /// assert!(circuit.state().is_open());
    /// # Ok::<(), failfast::ConfigError>(())
    /// ```
    pub fn state(self: &Arc<Self>) -> State {
        let word = self.word.load(Acquire);
        match self.view(word) {
            // The open period has ended: enter half-open, unless the circuit moved on since.
            State::HalfOpen if word & PHASE_MASK == OPEN => {
                self.on_alarm(generation(word));
                self.peek()
            }
            state => state,
        }
    }

    /// The open period of `generation` has ended, if nothing changed the circuit since.
    pub(crate) fn on_alarm(self: &Arc<Self>, generation: u32) {
        if self.end_open_period(generation) {
            self.dispatch();
        }
    }

    /// Moves the circuit to half-open if it is still open in `generation` and its period has
    /// ended, leaving the transition queued for delivery: returns whether it moved. An alarm
    /// rung early is set again.
    pub(crate) fn end_open_period(self: &Arc<Self>, generation: u32) -> bool {
        let now = self.clock.now();
        let mut inner = lock(&self.inner);
        if inner.generation != generation || inner.phase != Phase::Open {
            return false;
        }
        if now < inner.until {
            let until = inner.until;
            drop(inner);
            self.arm(generation, until);
            return false;
        }
        self.enter(&mut inner, Phase::HalfOpen, Reason::OpenElapsed, None);
        true
    }

    /// Whether the circuit is open and its period has not ended.
    pub(crate) fn is_open_now(&self) -> bool {
        self.word.load(Acquire) & PHASE_MASK == OPEN && self.clock.now() < self.until.load(Relaxed)
    }

    /// Whether the circuit is open in `generation`.
    pub(crate) fn is_open_in(&self, generation: u32) -> bool {
        self.word.load(Acquire) & !ALARMED == pack(OPEN, generation)
    }

    /// Marks the circuit as queued for the delivery thread: returns `false` if it already is.
    pub(crate) fn await_delivery(&self) -> bool {
        !self.awaiting_delivery.swap(true, AcqRel)
    }

    /// The delivery thread took the circuit from its queue.
    pub(crate) fn delivered(&self) {
        self.awaiting_delivery.store(false, Release);
    }

    /// Opens the circuit for the next period of its backoff.
    fn open(&self, inner: &mut Inner, reason: Reason, settings: &TransitionSettings) -> (u32, u64) {
        let opens = inner.opens.saturating_add(1);
        let duration = settings.backoff.duration(opens, fastrand::f64);
        let opened = self.open_for(inner, duration, reason);
        inner.opens = opens;
        opened
    }

    /// Opens the circuit for `duration`; returns the new generation and the period's end.
    fn open_for(&self, inner: &mut Inner, duration: Duration, reason: Reason) -> (u32, u64) {
        let duration = nanos(duration);
        inner.until = later(self.clock.now(), duration);
        let open_for = Duration::from_nanos(duration);
        self.enter(inner, Phase::Open, reason, Some(open_for));
        (inner.generation, inner.until)
    }

    /// Once the lock is released: sets the alarm that ends an open period, and tells observers.
    fn after_open(self: &Arc<Self>, (generation, until): (u32, u64)) {
        self.arm(generation, until);
        self.dispatch();
    }

    fn arm(self: &Arc<Self>, generation: u32, until: u64) {
        let alarm = Alarm {
            circuit: Arc::downgrade(self),
            generation,
        };
        // Refusals may skip the clock only on the system clock, whose timer runs no user code
        // and loses no alarm. On another clock a refusal reads it anyway (for `Open`'s retry
        // time), so an alarm rung late, or never, keeps no circuit open past its period.
        let skips_the_clock = matches!(self.clock, ClockHandle::System);
        if self.clock.set_alarm(until, alarm) && skips_the_clock {
            let open = pack(OPEN, generation);
            // Only if the word is unchanged: the alarm may already have rung, or a call moved on.
            let _ = self
                .word
                .compare_exchange(open, open | ALARMED, AcqRel, Relaxed);
        }
    }

    /// Moves to `to` in a new generation and queues the transition for the observers.
    fn enter(&self, inner: &mut Inner, to: Phase, reason: Reason, open_for: Option<Duration>) {
        let from = inner.phase;
        inner.generation = inner.generation.wrapping_add(1);
        inner.phase = to;
        inner.probes = Probes::default();
        let bits = match to {
            Phase::Closed => CLOSED,
            Phase::Open => {
                self.until.store(inner.until, Relaxed);
                OPEN
            }
            Phase::HalfOpen => HALF_OPEN,
        };
        self.word.store(pack(bits, inner.generation), Release);
        if from == to && to == Phase::Closed {
            return;
        }
        self.transitions.fetch_add(1, Relaxed);
        let transition = Transition {
            name: self.name.clone(),
            from,
            to,
            reason,
            open_for,
        };
        if let Some(watcher) = self.watcher.get().and_then(Weak::upgrade) {
            watcher.on_transition(&transition);
        }
        lock(&self.pending).queue.push_back(transition);
    }

    /// Tells `watcher` of every transition of the circuit as it is made, under the circuit's
    /// lock, before listeners hear of it: what a store needs to push changes that no slow
    /// listener may hold up. The watcher must be quick, must not panic, and must not call
    /// into the circuit. One per circuit: a second is ignored.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn watch(&self, watcher: Weak<dyn Listener>) {
        let _ = self.watcher.set(watcher);
    }

    /// Delivers queued transitions, in order, one at a time, with no lock of the circuit held.
    /// Whoever finds another thread delivering leaves its transitions to that thread. The queue
    /// and the "delivering" mark share one lock, so a transition queued just as the deliverer
    /// finds the queue empty is never stranded.
    ///
    /// An observer that panics does not keep the others from hearing this transition or the
    /// next ones: the first panic resumes once the queue is empty.
    pub(crate) fn dispatch(&self) {
        {
            let mut pending = lock(&self.pending);
            if pending.delivering || pending.queue.is_empty() {
                return;
            }
            pending.delivering = true;
        }
        let mut first_panic = None;
        loop {
            let transition = {
                let mut pending = lock(&self.pending);
                match pending.queue.pop_front() {
                    Some(transition) => transition,
                    None => {
                        pending.delivering = false;
                        break;
                    }
                }
            };
            let observers: Vec<Arc<dyn Listener>> = {
                let mut observers = lock(&self.observers);
                observers.retain(|o| o.strong_count() > 0);
                observers.iter().filter_map(Weak::upgrade).collect()
            };
            if let Some(panic) = each_caught(observers, |o| o.on_transition(&transition)) {
                first_panic.get_or_insert(panic);
            }
        }
        if let Some(panic) = first_panic {
            resume_unless_unwinding(panic);
        }
    }
}

/// Gives a probe permit back if dropped: held while listeners that may panic run between the
/// moment a permit is taken and the moment its call is let through.
struct GiveBackOnUnwind<'a> {
    circuit: &'a Circuit,
    generation: u32,
    id: u32,
}

impl Drop for GiveBackOnUnwind<'_> {
    fn drop(&mut self) {
        let mut inner = lock(&self.circuit.inner);
        if inner.generation == self.generation && inner.phase == Phase::HalfOpen {
            inner.probes.release(self.id);
        }
    }
}

/// Transitions waiting to be delivered, and whether a thread is delivering them.
#[derive(Debug, Default)]
struct Pending {
    queue: VecDeque<Transition>,
    delivering: bool,
}

impl Drop for Circuit {
    fn drop(&mut self) {
        self.clock.cancel_alarm(self, None);
    }
}

impl fmt::Debug for Circuit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let word = self.word.load(Acquire);
        f.debug_struct("Circuit")
            .field("name", &self.name)
            .field("phase", &(word & PHASE_MASK))
            .field("generation", &generation(word))
            .finish()
    }
}

fn pack(phase_bits: u64, generation: u32) -> u64 {
    (u64::from(generation) << 32) | phase_bits
}

fn generation(word: u64) -> u32 {
    (word >> 32) as u32
}

/// Whether generation `a` came before generation `b`. Generations count transitions and wrap
/// around; two that a live outcome can carry are never half the range apart.
pub(crate) fn precedes(a: u32, b: u32) -> bool {
    (b.wrapping_sub(a) as i32) > 0
}

/// Model checks of the transitions and the half-open permits: every interleaving of a few
/// threads, explored by loom. Run with
/// `RUSTFLAGS="--cfg failfast_loom" cargo test -p failfast --lib --release loom`.
#[cfg(all(test, failfast_loom))]
mod loom_tests {
    use std::sync::Mutex as StdMutex;

    use loom::thread;

    use super::*;
    use crate::clock::ManualClock;

    fn settings(probes: u32) -> Arc<TransitionSettings> {
        Arc::new(TransitionSettings {
            half_open: HalfOpenSettings {
                probes,
                successes_to_close: 1,
                probe_timeout: Duration::from_secs(10),
            },
            backoff: Backoff::constant(Duration::from_secs(1)),
        })
    }

    fn circuit() -> Arc<Circuit> {
        Circuit::new(
            "loom".into(),
            ClockHandle::Custom(Arc::new(ManualClock::new())),
        )
    }

    /// A circuit whose open period has ended: the manual clock rings its alarm at once.
    fn half_open() -> Arc<Circuit> {
        let circuit = circuit();
        circuit.force_open(Duration::ZERO);
        assert_eq!(circuit.state(), State::HalfOpen);
        circuit
    }

    #[derive(Default)]
    struct Log(StdMutex<Vec<(Phase, Phase)>>);

    impl Listener for Log {
        fn on_transition(&self, t: &Transition) {
            self.0.lock().unwrap().push((t.from, t.to));
        }
    }

    #[test]
    fn loom_two_callers_one_probe_permit() {
        loom::model(|| {
            let circuit = half_open();
            let settings = settings(1);
            let callers: Vec<_> = (0..2)
                .map(|_| {
                    let (circuit, settings) = (circuit.clone(), settings.clone());
                    thread::spawn(move || circuit.admit(&settings))
                })
                .collect();
            let probes = callers
                .into_iter()
                .map(|c| c.join().unwrap())
                .filter(|a| matches!(a, Ok(Admission::Probe(..))))
                .count();
            assert_eq!(probes, 1);
        });
    }

    #[test]
    fn loom_a_finishing_probe_and_a_new_caller() {
        loom::model(|| {
            let circuit = half_open();
            let settings = settings(1);
            let Ok(Admission::Probe(generation, id)) = circuit.admit(&settings) else {
                panic!("the first caller probes");
            };
            let caller = {
                let (circuit, settings) = (circuit.clone(), settings.clone());
                thread::spawn(move || circuit.admit(&settings))
            };
            circuit.finish_probe(generation, id, ProbeOutcome::Success, &settings);
            match caller.join().unwrap() {
                // Before the probe finished: refused. After: the circuit is closed.
                Err(_) | Ok(Admission::Closed(_)) => {}
                Ok(probe) => {
                    panic!("a second probe while the first held the only permit: {probe:?}")
                }
            }
            assert_eq!(circuit.state(), State::Closed);
        });
    }

    #[test]
    fn loom_racing_trips_open_once_and_transitions_arrive_in_order() {
        loom::model(|| {
            let circuit = circuit();
            let log: Arc<Log> = Arc::default();
            let listener: Arc<dyn Listener> = log.clone();
            circuit.subscribe(Arc::downgrade(&listener));
            let settings = settings(1);
            let trippers: Vec<_> = (0..2)
                .map(|_| {
                    let (circuit, settings) = (circuit.clone(), settings.clone());
                    thread::spawn(move || {
                        circuit.trip(0, Reason::ConsecutiveFailures(1), &settings)
                    })
                })
                .collect();
            circuit.reset();
            for tripper in trippers {
                tripper.join().unwrap();
            }
            let log = log.0.lock().unwrap();
            // However the reset interleaves, each transition starts where the last one ended.
            let mut phase = Phase::Closed;
            for &(from, to) in log.iter() {
                assert_eq!(from, phase, "{log:?}");
                phase = to;
            }
            let opens = log.iter().filter(|t| t.1 == Phase::Open).count();
            assert!(opens <= 1, "generation 0 opens at most once: {log:?}");
            assert_eq!(circuit.transitions(), log.len() as u64, "{log:?}");
        });
    }
}
