//! What a breaker tells its observers: [`Transition`]s with their [`Reason`], rejections and
//! call outcomes, delivered to [`Listener`]s, each of which hears the [`Events`] it wants.

use std::any::Any;
use std::fmt;
use std::ops::BitOr;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::Arc;
use std::time::Duration;

use crate::error::Open;
use crate::name::Name;
use crate::state::{Phase, State};

/// A change of a circuit's phase.
///
/// ```
/// use std::sync::mpsc;
/// use std::time::Duration;
/// use failfast::{Breaker, Phase, Reason};
/// let (tx, rx) = mpsc::channel();
/// let breaker = Breaker::builder("ws")
///     .open_for(Duration::from_secs(9))
///     .on_transition(move |t| tx.send(t.clone()).unwrap())
///     .build()?;
/// let _ = breaker.call(|| Err::<(), _>("reset by peer"));
/// let t = rx.recv().unwrap();
/// assert_eq!(t.name, "ws");
/// assert_eq!((t.from, t.to), (Phase::Closed, Phase::Open));
/// assert_eq!(t.reason, Reason::ConsecutiveFailures(1));
/// assert_eq!(t.open_for, Some(Duration::from_secs(9)));
/// # Ok::<(), failfast::ConfigError>(())
/// ```
///
/// With the `serde` feature, a transition is an object whose open period is in whole
/// milliseconds (`null` unless it opened):
/// `{"name":"ws","from":"closed","to":"open","reason":{"kind":"consecutive_failures","value":1},"open_for_ms":9000}`.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Transition {
    /// The circuit's name.
    pub name: Name,
    /// The phase it left.
    pub from: Phase,
    /// The phase it entered.
    pub to: Phase,
    /// Why it changed.
    pub reason: Reason,
    /// For a transition to [`Phase::Open`], how long the open period lasts.
    #[cfg_attr(
        feature = "serde",
        serde(
            rename = "open_for_ms",
            with = "crate::observe::serde::optional_millis"
        )
    )]
    pub open_for: Option<Duration>,
}

/// Why a circuit changed phase.
///
/// ```
/// use failfast::Reason;
/// fn describe(reason: Reason) -> String {
///     match reason {
///         Reason::ConsecutiveFailures(n) => format!("{n} failures in a row"),
///         Reason::FailureRate(rate) => format!("{:.0}% of calls failed", rate * 100.0),
///         other => format!("{other:?}"),
///     }
/// }
/// assert_eq!(describe(Reason::FailureRate(0.5)), "50% of calls failed");
/// ```
///
/// With the `serde` feature, a reason is an object of its `kind` in snake case and, for the
/// reasons that carry one, its `value`: `{"kind":"failure_rate","value":0.5}`,
/// `{"kind":"open_elapsed"}`.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(tag = "kind", content = "value", rename_all = "snake_case")
)]
#[non_exhaustive]
pub enum Reason {
    /// This many failures in a row.
    ConsecutiveFailures(u32),
    /// The failure rate over the policy's window reached its threshold.
    FailureRate(
        #[cfg_attr(
            feature = "serde",
            serde(serialize_with = "crate::observe::serde::finite")
        )]
        f64,
    ),
    /// The slow-call rate over the policy's window reached its threshold.
    SlowCallRate(
        #[cfg_attr(
            feature = "serde",
            serde(serialize_with = "crate::observe::serde::finite")
        )]
        f64,
    ),
    /// The open period ended.
    OpenElapsed,
    /// Enough half-open probes succeeded.
    ProbesSucceeded(u32),
    /// A half-open probe failed.
    ProbeFailed,
    /// [`Breaker::force_open`](crate::Breaker::force_open) was called.
    Forced,
    /// [`Breaker::reset`](crate::Breaker::reset) was called.
    Reset,
    /// Another process changed the shared circuit, and its store relayed the change with
    /// [`Circuit::open_remotely`](crate::Circuit::open_remotely) or
    /// [`Circuit::close_remotely`](crate::Circuit::close_remotely). A store that publishes
    /// transitions skips these, so that changes do not echo.
    Remote,
}

impl fmt::Display for Reason {
    /// In words: `3 failures in a row`, `failure rate 52.5%`, `the open period ended`, ...
    ///
    /// ```
    /// use failfast::Reason;
    /// assert_eq!(Reason::ConsecutiveFailures(3).to_string(), "3 failures in a row");
    /// assert_eq!(Reason::FailureRate(0.525).to_string(), "failure rate 52.5%");
    /// assert_eq!(Reason::ProbesSucceeded(1).to_string(), "1 probe succeeded");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let percent = |rate: f64| rate * 100.0;
        match self {
            Reason::ConsecutiveFailures(1) => f.write_str("1 failure"),
            Reason::ConsecutiveFailures(n) => write!(f, "{n} failures in a row"),
            Reason::FailureRate(rate) => write!(f, "failure rate {:.1}%", percent(*rate)),
            Reason::SlowCallRate(rate) => write!(f, "slow-call rate {:.1}%", percent(*rate)),
            Reason::OpenElapsed => f.write_str("the open period ended"),
            Reason::ProbesSucceeded(1) => f.write_str("1 probe succeeded"),
            Reason::ProbesSucceeded(n) => write!(f, "{n} probes succeeded"),
            Reason::ProbeFailed => f.write_str("a probe failed"),
            Reason::Forced => f.write_str("forced open"),
            Reason::Reset => f.write_str("reset"),
            Reason::Remote => f.write_str("changed by another process"),
        }
    }
}

impl fmt::Display for Transition {
    /// One line for a log: `sales_api: closed -> open (3 failures in a row; open for 60s)`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::Breaker;
    /// let breaker = Breaker::builder("sales_api").open_for(Duration::from_secs(60))
    ///     .on_transition(|t| assert_eq!(t.to_string(), "sales_api: closed -> open (1 failure; open for 60s)"))
    ///     .build()?;
    /// let _ = breaker.call(|| Err::<(), _>("timeout"));
    /// # Ok::<(), failfast::ConfigError>(())
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} -> {} ({}",
            self.name, self.from, self.to, self.reason
        )?;
        if let Some(open_for) = self.open_for {
            write!(f, "; open for {open_for:?}")?;
        }
        f.write_str(")")
    }
}

/// A set of the events a [`Listener`] wants: see [`Listener::hears`]. Sets combine with `|`.
///
/// ```
/// use failfast::Events;
/// let wanted = Events::TRANSITIONS | Events::FAILURES;
/// assert!(wanted.contains(Events::FAILURES));
/// assert!(!wanted.contains(Events::SUCCESSES));
/// assert!(Events::ALL.contains(wanted));
/// assert_eq!(format!("{wanted:?}"), "TRANSITIONS | FAILURES");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Events(u8);

impl Events {
    /// [`Listener::on_transition`].
    pub const TRANSITIONS: Events = Events(1);
    /// [`Listener::on_rejected`].
    pub const REJECTIONS: Events = Events(1 << 1);
    /// [`Listener::on_success`].
    pub const SUCCESSES: Events = Events(1 << 2);
    /// [`Listener::on_failure`].
    pub const FAILURES: Events = Events(1 << 3);
    /// [`Listener::on_ignored`].
    pub const IGNORED: Events = Events(1 << 4);
    /// Every event.
    pub const ALL: Events = Events((1 << Events::COUNT) - 1);
    /// No event: for a listener that [`attach`](Listener::attach)es one of its own to each
    /// breaker and may find, for some, nothing to hear (a breaker none of whose listeners hears
    /// anything pays for none of them).
    ///
    /// ```
    /// use failfast::Events;
    /// assert!(Events::ALL.contains(Events::NONE));
    /// assert_eq!(format!("{:?}", Events::NONE), "(none)");
    /// ```
    pub const NONE: Events = Events(0);
    /// How many kinds of event there are, one bit each.
    pub(crate) const COUNT: usize = 5;

    const NAMES: [(Events, &'static str); Events::COUNT] = [
        (Events::TRANSITIONS, "TRANSITIONS"),
        (Events::REJECTIONS, "REJECTIONS"),
        (Events::SUCCESSES, "SUCCESSES"),
        (Events::FAILURES, "FAILURES"),
        (Events::IGNORED, "IGNORED"),
    ];

    /// Whether every event of `other` is in this set.
    ///
    /// ```
    /// use failfast::Events;
    /// assert!(Events::ALL.contains(Events::REJECTIONS));
    /// assert!(!Events::REJECTIONS.contains(Events::ALL));
    /// ```
    pub const fn contains(self, other: Events) -> bool {
        self.0 & other.0 == other.0
    }

    /// The events of both sets, as `|` gives them, in constants too.
    ///
    /// ```
    /// use failfast::Events;
    /// const LOGGED: Events = Events::TRANSITIONS.union(Events::FAILURES);
    /// assert_eq!(LOGGED, Events::TRANSITIONS | Events::FAILURES);
    /// ```
    pub const fn union(self, other: Events) -> Events {
        Events(self.0 | other.0)
    }
}

impl BitOr for Events {
    type Output = Events;

    /// The events of both sets.
    fn bitor(self, other: Events) -> Events {
        self.union(other)
    }
}

impl fmt::Debug for Events {
    /// The events' names joined by ` | `: `TRANSITIONS | FAILURES`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names = Events::NAMES
            .iter()
            .filter(|(event, _)| self.contains(*event))
            .map(|(_, name)| *name);
        match names.next() {
            None => f.write_str("(none)"),
            Some(first) => {
                f.write_str(first)?;
                names.try_for_each(|name| write!(f, " | {name}"))
            }
        }
    }
}

/// What a [`Listener`] is told of a breaker being built with it, in
/// [`attach`](Listener::attach). More may be added: read the fields you need.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct BreakerInfo<'a> {
    /// The breaker's name.
    pub name: &'a Name,
    /// The state of its circuit: closed for a new one, perhaps not for one shared through a
    /// store.
    pub state: State,
}

/// Receives a breaker's events. Every method has an empty default, so a listener implements only
/// what it needs, and a breaker without listeners pays nothing.
///
/// Listeners run on the thread that caused the event, after the breaker has released its locks.
/// Transitions reach every listener of every breaker sharing the circuit, one at a time and in
/// the order they happened; so a transition made while another thread is delivering the
/// circuit's earlier ones is delivered by that thread, after them. The end of an open period on the system clock is noticed by the
/// `failfast-timer` thread, which moves the circuit to half-open and leaves the transition to the
/// `failfast-events` thread to deliver.
///
/// What a listener may do:
/// - Call back into the breaker: inspect it, reset it, make calls through it (not from
///   [`attach`](Listener::attach), which runs before there is a breaker). A call's outcome is
///   heard just before it is counted: [`stats`](crate::Breaker::stats) read in `on_failure`
///   does not include that failure yet, and a transition it causes is heard after it.
/// - Panic. The event is counted all the same (a call's outcome, a transition), the other
///   listeners still hear it, and then the panic unwinds into the thread that caused the
///   event; on
///   `failfast-events` the panic hook reports it and delivery goes on. A listener that panics
///   while a guarded call is already unwinding is silenced, as a second panic would abort.
///
/// What it should not do:
/// - Block or work slowly. A listener delays the call whose event it hears, and one that blocks
///   on `failfast-events` delays the delivery of other circuits' timer transitions (never the
///   transitions themselves: no circuit stays open past its period because of a listener). Hand
///   slow work, such as network I/O, to a thread or task of its own.
/// - Expect a given thread: it runs on callers' threads and on `failfast-events`.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use std::time::Duration;
/// use failfast::{Breaker, Listener, Phase, Transition};
///
/// #[derive(Default)]
/// struct Log(Mutex<Vec<(Phase, Phase)>>);
///
/// impl Listener for Log {
///     fn on_transition(&self, t: &Transition) {
///         self.0.lock().unwrap().push((t.from, t.to));
///     }
/// }
///
/// let log = Arc::new(Log::default());
/// let breaker = Breaker::builder("mail")
///     .open_for(Duration::from_secs(5))
///     .listener(log.clone())
///     .build()
///     .unwrap();
/// let _ = breaker.call(|| Err::<(), _>("smtp down"));
/// assert_eq!(*log.0.lock().unwrap(), [(Phase::Closed, Phase::Open)]);
/// ```
pub trait Listener: Send + Sync + 'static {
    /// The events this listener wants (default: all of them), asked once, when a breaker is
    /// built with it (of the listener [`attach`](Listener::attach) returned, if it returned
    /// one). A listener hears only these; and a breaker none of whose listeners wants call
    /// outcomes (or refusals) pays nothing for them on its calls, as if it had no listener. A
    /// listener of transitions alone should say so.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
    /// use failfast::{Events, Listener, Transition};
    ///
    /// #[derive(Default)]
    /// struct Openings(AtomicU32);
    ///
    /// impl Listener for Openings {
    ///     fn hears(&self) -> Events {
    ///         Events::TRANSITIONS
    ///     }
    ///
    ///     fn on_transition(&self, t: &Transition) {
    ///         if t.to == failfast::Phase::Open {
    ///             self.0.fetch_add(1, Relaxed);
    ///         }
    ///     }
    /// }
    /// assert!(!Openings::default().hears().contains(Events::SUCCESSES));
    /// ```
    fn hears(&self) -> Events {
        Events::ALL
    }

    /// A listener of its own for the `breaker` being built with this one (its name, the state
    /// its circuit is in): the breaker keeps the one returned instead of this one. `None` (the
    /// default) keeps this one.
    ///
    /// For listeners that keep something per circuit, such as the handles of its metrics: the
    /// breaker tells the listener it was given, without a look-up by name on each event, and one
    /// listener added to a [`Registry`](crate::Registry) serves each of its breakers with one of
    /// their own. Asked once per breaker, when it is built; the one returned is then asked what
    /// it [`hears`](Listener::hears), and this one is asked nothing more by that breaker.
    ///
    /// It runs on the thread that builds the breaker: for a `#[failfast("name", ..)]` function,
    /// the one that calls it first. A panic in it unwinds out of the build (and out of that
    /// first call). Two threads that race to make one breaker by
    /// name through a registry may each build one, and one is dropped unused: what `attach`
    /// sets up must be harmless to drop.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
    /// use failfast::{Breaker, BreakerInfo, Listener};
    ///
    /// /// Counts each breaker's successes in a counter of its own.
    /// struct Successes;
    /// struct Count(AtomicU64);
    ///
    /// impl Listener for Successes {
    ///     fn attach(&self, breaker: &BreakerInfo<'_>) -> Option<Arc<dyn Listener>> {
    ///         println!("counting the successes of {}", breaker.name);
    ///         Some(Arc::new(Count(AtomicU64::new(0))))
    ///     }
    /// }
    ///
    /// impl Listener for Count {
    ///     fn on_success(&self, _: &str) {
    ///         self.0.fetch_add(1, Relaxed);
    ///     }
    /// }
    ///
    /// let breaker = Breaker::builder("geo").listener(Successes).build()?;
    /// let _ = breaker.call(|| Ok::<_, ()>(()));
    /// # Ok::<(), failfast::ConfigError>(())
    /// ```
    fn attach(&self, breaker: &BreakerInfo<'_>) -> Option<Arc<dyn Listener>> {
        let _ = breaker;
        None
    }

    /// The circuit changed phase.
    fn on_transition(&self, transition: &Transition) {
        let _ = transition;
    }

    /// A call was refused.
    fn on_rejected(&self, open: &Open) {
        let _ = open;
    }

    /// A call succeeded.
    fn on_success(&self, name: &str) {
        let _ = name;
    }

    /// A call failed (its error counted against the circuit, or it panicked).
    fn on_failure(&self, name: &str) {
        let _ = name;
    }

    /// A call returned an error that does not count against the circuit.
    fn on_ignored(&self, name: &str) {
        let _ = name;
    }
}

impl<L: Listener + ?Sized> Listener for Arc<L> {
    fn hears(&self) -> Events {
        (**self).hears()
    }

    fn attach(&self, breaker: &BreakerInfo<'_>) -> Option<Arc<dyn Listener>> {
        (**self).attach(breaker)
    }

    fn on_transition(&self, transition: &Transition) {
        (**self).on_transition(transition)
    }

    fn on_rejected(&self, open: &Open) {
        (**self).on_rejected(open)
    }

    fn on_success(&self, name: &str) {
        (**self).on_success(name)
    }

    fn on_failure(&self, name: &str) {
        (**self).on_failure(name)
    }

    fn on_ignored(&self, name: &str) {
        (**self).on_ignored(name)
    }
}

/// A listener made of one closure, for [`Builder::on_transition`](crate::Builder::on_transition)
/// and its siblings.
pub(crate) enum FnListener {
    Transition(Box<dyn Fn(&Transition) + Send + Sync>),
    Rejected(Box<dyn Fn(&Open) + Send + Sync>),
    Success(Box<dyn Fn(&str) + Send + Sync>),
    Failure(Box<dyn Fn(&str) + Send + Sync>),
}

impl Listener for FnListener {
    fn hears(&self) -> Events {
        match self {
            FnListener::Transition(_) => Events::TRANSITIONS,
            FnListener::Rejected(_) => Events::REJECTIONS,
            FnListener::Success(_) => Events::SUCCESSES,
            FnListener::Failure(_) => Events::FAILURES,
        }
    }

    fn on_transition(&self, transition: &Transition) {
        if let FnListener::Transition(f) = self {
            f(transition)
        }
    }

    fn on_rejected(&self, open: &Open) {
        if let FnListener::Rejected(f) = self {
            f(open)
        }
    }

    fn on_success(&self, name: &str) {
        if let FnListener::Success(f) = self {
            f(name)
        }
    }

    fn on_failure(&self, name: &str) {
        if let FnListener::Failure(f) = self {
            f(name)
        }
    }
}

/// The listeners that hear one event.
type Hearing = Box<[Arc<dyn Listener>]>;

/// A breaker's listeners, sorted by the events they hear. Empty in the common case, and then
/// every notification is one branch.
pub(crate) struct Listeners {
    /// For each event, by the position of its bit in [`Events`], the listeners that hear it, in
    /// the order they were added: a breaker tells an event without filtering the others out.
    /// Boxed, so that a breaker's hot fields stay as close together as without listeners.
    by_event: Box<[Hearing; Events::COUNT]>,
    /// The events any of them hears.
    heard: Events,
    /// How many listeners there are.
    len: usize,
}

impl Listeners {
    pub(crate) fn new(listeners: Vec<Arc<dyn Listener>>) -> Listeners {
        let hears: Vec<Events> = listeners.iter().map(|listener| listener.hears()).collect();
        let by_event = Box::new(std::array::from_fn(|bit| {
            let event = Events(1 << bit);
            listeners
                .iter()
                .zip(&hears)
                .filter(|(_, hears)| hears.contains(event))
                .map(|(listener, _)| listener.clone())
                .collect()
        }));
        let heard = hears
            .iter()
            .fold(Events::NONE, |heard, hears| heard | *hears);
        Listeners {
            by_event,
            heard,
            len: listeners.len(),
        }
    }

    /// Whether any listener hears `event`, one of the [`Events`].
    #[inline(always)]
    pub(crate) fn hear(&self, event: Events) -> bool {
        self.heard.0 & event.0 != 0
    }

    /// The listeners that hear `event`, one of the [`Events`].
    #[inline(always)]
    pub(crate) fn hearing(&self, event: Events) -> &[Arc<dyn Listener>] {
        let bit = event.0.trailing_zeros() as usize;
        self.by_event.get(bit).map_or(&[], |listeners| listeners)
    }

    /// Calls `f` with every listener that hears `event`, even if one panics; returns the first
    /// panic's payload.
    #[inline(always)]
    pub(crate) fn each_caught(
        &self,
        event: Events,
        mut f: impl FnMut(&dyn Listener),
    ) -> Option<Panic> {
        each_caught(self.hearing(event), |listener| f(listener.as_ref()))
    }
}

impl Default for Listeners {
    fn default() -> Listeners {
        Listeners::new(Vec::new())
    }
}

impl fmt::Debug for Listeners {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} listener(s)", self.len)
    }
}

/// What a caught panic carried.
pub(crate) type Panic = Box<dyn Any + Send>;

/// Calls `f` with every item, even if it panics for one: user code (a listener, a clock's
/// alarm) must not keep the others from running. Returns the first panic's payload.
///
/// One guard for the whole loop rather than one per item: each item is taken from the iterator
/// before `f` sees it, so after a panic the loop goes on from the next one.
#[inline(always)]
pub(crate) fn each_caught<T>(
    items: impl IntoIterator<Item = T>,
    mut f: impl FnMut(T),
) -> Option<Panic> {
    let mut items = items.into_iter();
    let mut first = None;
    while let Err(panic) = catch_unwind(AssertUnwindSafe(|| {
        for item in items.by_ref() {
            f(item);
        }
    })) {
        first.get_or_insert(panic);
    }
    first
}

/// Resumes a listener's panic on the thread that ran it, unless that thread is already
/// unwinding (a listener run by a drop guard), where a second panic would abort the process.
#[cold]
#[inline(never)]
pub(crate) fn resume_unless_unwinding(panic: Panic) {
    if !std::thread::panicking() {
        resume_unwind(panic);
    }
}
