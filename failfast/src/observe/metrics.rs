//! [`Metrics`]: a listener that counts a breaker's calls and transitions through the `metrics`
//! facade, and gauges its state.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use metrics::{Counter, Gauge, Unit, counter, describe_counter, describe_gauge, gauge};

use crate::error::Open;
use crate::event::{BreakerInfo, Listener, Transition};
use crate::name::Name;
use crate::state::Phase;

const CALLS: &str = "failfast_calls_total";
const TRANSITIONS: &str = "failfast_transitions_total";
const STATE: &str = "failfast_state";

/// A [`Listener`] that counts a breaker's events through the `metrics` facade (feature
/// `metrics`, on `metrics` 0.24), so that any of its exporters (Prometheus, StatsD,
/// OpenTelemetry, ...) built on that version shows them (`metrics-exporter-prometheus` 0.18
/// is; an exporter on another `metrics` version installs a recorder this listener never sees):
///
/// | metric | kind | labels | what |
/// |--------|------|--------|------|
/// | `failfast_calls_total` | counter | `circuit`, `outcome`: `success`, `failure`, `ignored` or `rejected` | calls by how they ended: `failure` counts against the circuit, `ignored` is an error that does not, `rejected` was refused without running |
/// | `failfast_transitions_total` | counter | `circuit`, `to`: `closed`, `open` or `half_open` | phase changes, by the phase entered |
/// | `failfast_state` | gauge | `circuit`, `state`: `closed`, `open` or `half_open` | `1` for the circuit's phase, `0` for the other two; all `0` once no breaker of the circuit is left |
///
/// Each breaker built with this listener gets a listener of its own
/// ([`Listener::attach`]), which registers the circuit's series with the recorder in place
/// then, all at once and at zero (so that rates and alerts see them from the start), sets the
/// state gauge, and keeps the handles: an event costs the breaker no look-up, only the call of
/// its listener and the recorder's own work (a successful call measured 6.6 ns with a
/// Prometheus recorder, against 3.6 ns without the listener: the README's figures). So
/// install the recorder (`metrics::set_global_recorder`, or an exporter's `install_recorder`) before
/// the breakers are made: for `#[failfast("name", ..)]` functions, before their first call.
/// Each circuit name makes series of its own: name circuits per dependency, not per request.
/// They stay in the recorder when the circuit's last breaker is gone (its state gauges at `0`).
///
/// The counts are per breaker: two breakers of one circuit in a process (built on one store)
/// each count its transitions; keep one breaker per circuit, as the registry does. The state
/// gauge is set when a breaker is made and on each transition: a breaker made while its
/// circuit changes phase, or one made by a thread racing another to build the same registry
/// breaker and then dropped, may leave the previous phase shown until the circuit's next
/// transition (at most one open period later).
///
/// ```
/// use std::time::Duration;
/// use failfast::{Breaker, Registry, observe};
///
/// // Every breaker the registry makes from now on, `#[failfast("name", ..)]`'s included:
/// Registry::global().add_listener(observe::Metrics::new());
///
/// // Or one breaker:
/// let breaker = Breaker::builder("sales_api")
///     .open_for(Duration::from_secs(60))
///     .listener(observe::Metrics::new())
///     .build()?;
/// let _ = breaker.call(|| Ok::<_, ()>(1)); // failfast_calls_total{circuit="sales_api",outcome="success"} 1
/// # Ok::<(), failfast::ConfigError>(())
/// ```
#[derive(Debug, Default, Clone)]
#[non_exhaustive]
pub struct Metrics;

impl Metrics {
    /// A listener that counts the events of the breakers it is given to, each in its own series.
    ///
    /// ```
    /// use failfast::{Events, Listener, observe};
    /// assert_eq!(observe::Metrics::new().hears(), Events::ALL);
    /// ```
    pub fn new() -> Metrics {
        Metrics
    }
}

/// Gives each breaker its circuit's series. Told of an event itself (as an observer a store
/// subscribed, say), it registers the series anew for it: right, but slower.
impl Listener for Metrics {
    fn attach(&self, breaker: &BreakerInfo<'_>) -> Option<Arc<dyn Listener>> {
        let mut series = Series::register(breaker.name);
        let mut live = lock(live());
        *live.entry(breaker.name.clone()).or_default() += 1;
        series.show(Some(breaker.state.phase()));
        series.attached = Some(breaker.name.clone());
        Some(Arc::new(series))
    }

    fn on_transition(&self, transition: &Transition) {
        Series::register(&transition.name).on_transition(transition)
    }

    fn on_rejected(&self, open: &Open) {
        Series::register(open.name()).on_rejected(open)
    }

    fn on_success(&self, name: &str) {
        Series::register(name).on_success(name)
    }

    fn on_failure(&self, name: &str) {
        Series::register(name).on_failure(name)
    }

    fn on_ignored(&self, name: &str) {
        Series::register(name).on_ignored(name)
    }
}

/// How many breakers hold the series of each circuit name: when the last is dropped (a name
/// per host, removed from its registry), its state gauges go to `0`, so that no alert on open
/// circuits fires for a circuit that is gone.
fn live() -> &'static Mutex<HashMap<Name, usize>> {
    static LIVE: OnceLock<Mutex<HashMap<Name, usize>>> = OnceLock::new();
    LIVE.get_or_init(Mutex::default)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One circuit's series: the listener a breaker built with [`Metrics`] keeps.
struct Series {
    /// The circuit's name, counted in [`live`], for the listener a breaker keeps; `None` for
    /// one made to count a single event.
    attached: Option<Name>,
    successes: Counter,
    failures: Counter,
    ignored: Counter,
    rejected: Counter,
    to_closed: Counter,
    to_open: Counter,
    to_half_open: Counter,
    closed: Gauge,
    open: Gauge,
    half_open: Gauge,
}

impl Series {
    /// Registers the series of `circuit` with the current recorder.
    fn register(circuit: &str) -> Series {
        describe();
        let calls = |outcome: &'static str| counter!(CALLS, "circuit" => circuit.to_owned(), "outcome" => outcome);
        let transitions =
            |to: &'static str| counter!(TRANSITIONS, "circuit" => circuit.to_owned(), "to" => to);
        let state =
            |state: &'static str| gauge!(STATE, "circuit" => circuit.to_owned(), "state" => state);
        Series {
            attached: None,
            successes: calls("success"),
            failures: calls("failure"),
            ignored: calls("ignored"),
            rejected: calls("rejected"),
            to_closed: transitions("closed"),
            to_open: transitions("open"),
            to_half_open: transitions("half_open"),
            closed: state("closed"),
            open: state("open"),
            half_open: state("half_open"),
        }
    }

    /// Sets the state gauges to show `phase`; with `None`, no phase.
    fn show(&self, phase: Option<Phase>) {
        let is = |shown| if phase == Some(shown) { 1.0 } else { 0.0 };
        self.closed.set(is(Phase::Closed));
        self.open.set(is(Phase::Open));
        self.half_open.set(is(Phase::HalfOpen));
    }
}

impl Drop for Series {
    fn drop(&mut self) {
        let Some(name) = &self.attached else {
            return;
        };
        let mut live = lock(live());
        if let Some(count) = live.get_mut(name) {
            *count -= 1;
            if *count == 0 {
                live.remove(name);
                self.show(None);
            }
        }
    }
}

impl Listener for Series {
    fn on_transition(&self, t: &Transition) {
        match t.to {
            Phase::Closed => self.to_closed.increment(1),
            Phase::Open => self.to_open.increment(1),
            Phase::HalfOpen => self.to_half_open.increment(1),
        }
        self.show(Some(t.to));
    }

    fn on_rejected(&self, _: &Open) {
        self.rejected.increment(1);
    }

    fn on_success(&self, _: &str) {
        self.successes.increment(1);
    }

    fn on_failure(&self, _: &str) {
        self.failures.increment(1);
    }

    fn on_ignored(&self, _: &str) {
        self.ignored.increment(1);
    }
}

/// Describes the metrics to the current recorder: their units and help texts.
fn describe() {
    describe_counter!(
        CALLS,
        Unit::Count,
        "Calls through a circuit breaker, by outcome: success, failure (counts against the \
         circuit), ignored (an error that does not count), rejected (refused without running)"
    );
    describe_counter!(
        TRANSITIONS,
        Unit::Count,
        "Phase changes of a circuit, by the phase entered"
    );
    describe_gauge!(
        STATE,
        "The phase of a circuit: 1 for the state it is in (closed, open or half_open), 0 for the others"
    );
}
