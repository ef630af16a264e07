//! [`Metrics`]: a listener that counts a breaker's calls and transitions through the `metrics`
//! facade, and gauges its state.

use std::collections::HashMap;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use metrics::{Counter, Gauge, Unit, counter, describe_counter, describe_gauge, gauge};

use crate::error::Open;
use crate::event::{Listener, Transition};
use crate::name::Name;
use crate::state::Phase;

const CALLS: &str = "failfast_calls_total";
const TRANSITIONS: &str = "failfast_transitions_total";
const STATE: &str = "failfast_state";

/// A [`Listener`] that counts a breaker's events through the `metrics` facade (feature
/// `metrics`), so that any of its exporters (Prometheus, StatsD, OpenTelemetry, ...) shows them:
///
/// | metric | kind | labels | what |
/// |--------|------|--------|------|
/// | `failfast_calls_total` | counter | `circuit`, `outcome`: `success`, `failure`, `ignored` or `rejected` | calls by how they ended: `failure` counts against the circuit, `ignored` is an error that does not, `rejected` was refused without running |
/// | `failfast_transitions_total` | counter | `circuit`, `to`: `closed`, `open` or `half_open` | phase changes, by the phase entered |
/// | `failfast_state` | gauge | `circuit` | the phase: `0` closed, `1` half-open, `2` open (the higher, the worse) |
///
/// A circuit's series are made at its first event, all at once and at zero, so that rates and
/// alerts see them from then on; its state gauge is set at each transition, and at a first
/// event before any: `0` for a call's outcome, `2` for a refusal. (A breaker that joins a
/// circuit already open or half-open through a shared store may so show `0` or `2` until the
/// circuit's next transition.)
///
/// The listener keeps each circuit's handles, made with the recorder in place at its first
/// event: install the recorder (`metrics::set_global_recorder`, or an exporter's `install`)
/// before the first guarded call. A counted event then costs a look-up of the circuit by name
/// and the recorder's own work; a successful call through a breaker with this listener costs
/// about 20 ns more (see the README's figures). Each circuit name makes a series of its own, and
/// the listener and recorder keep it: name circuits per dependency, not per request.
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
#[derive(Default)]
pub struct Metrics {
    circuits: RwLock<HashMap<Name, Handles>>,
}

/// One circuit's series.
struct Handles {
    successes: Counter,
    failures: Counter,
    ignored: Counter,
    rejected: Counter,
    to_closed: Counter,
    to_open: Counter,
    to_half_open: Counter,
    state: Gauge,
}

impl Handles {
    /// Registers the series of `circuit` with the current recorder.
    fn register(circuit: &str) -> Handles {
        describe();
        let calls = |outcome: &'static str| counter!(CALLS, "circuit" => circuit.to_owned(), "outcome" => outcome);
        let transitions =
            |to: &'static str| counter!(TRANSITIONS, "circuit" => circuit.to_owned(), "to" => to);
        Handles {
            successes: calls("success"),
            failures: calls("failure"),
            ignored: calls("ignored"),
            rejected: calls("rejected"),
            to_closed: transitions("closed"),
            to_open: transitions("open"),
            to_half_open: transitions("half_open"),
            state: gauge!(STATE, "circuit" => circuit.to_owned()),
        }
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
        "The phase of a circuit: 0 closed, 1 half-open, 2 open"
    );
}

/// The value of [`STATE`] for `phase`.
fn state_value(phase: Phase) -> f64 {
    match phase {
        Phase::Closed => 0.0,
        Phase::HalfOpen => 1.0,
        Phase::Open => 2.0,
    }
}

impl Metrics {
    /// A listener that counts the events of the breakers it is given to.
    ///
    /// ```
    /// use failfast::{Events, Listener, observe};
    /// assert_eq!(observe::Metrics::new().hears(), Events::ALL);
    /// ```
    pub fn new() -> Metrics {
        Metrics::default()
    }

    /// Calls `f` with the series of `circuit`, made if it has none yet, with its state gauge
    /// set to `first_phase`.
    #[inline]
    fn with(&self, circuit: &str, first_phase: Phase, f: impl FnOnce(&Handles)) {
        if let Some(handles) = self.read().get(circuit) {
            return f(handles);
        }
        self.first_event(circuit, first_phase, f)
    }

    #[cold]
    #[inline(never)]
    fn first_event(&self, circuit: &str, phase: Phase, f: impl FnOnce(&Handles)) {
        let mut circuits = self.write();
        let handles = circuits
            .entry(Name::from(circuit.to_owned()))
            .or_insert_with(|| {
                let handles = Handles::register(circuit);
                handles.state.set(state_value(phase));
                handles
            });
        f(handles)
    }

    fn read(&self) -> RwLockReadGuard<'_, HashMap<Name, Handles>> {
        self.circuits.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashMap<Name, Handles>> {
        self.circuits.write().unwrap_or_else(|p| p.into_inner())
    }
}

impl Listener for Metrics {
    fn on_transition(&self, t: &Transition) {
        self.with(&t.name, t.to, |handles| {
            match t.to {
                Phase::Closed => handles.to_closed.increment(1),
                Phase::Open => handles.to_open.increment(1),
                Phase::HalfOpen => handles.to_half_open.increment(1),
            }
            handles.state.set(state_value(t.to));
        });
    }

    fn on_rejected(&self, open: &Open) {
        self.with(open.name(), Phase::Open, |handles| {
            handles.rejected.increment(1)
        });
    }

    fn on_success(&self, name: &str) {
        self.with(name, Phase::Closed, |handles| {
            handles.successes.increment(1)
        });
    }

    fn on_failure(&self, name: &str) {
        self.with(name, Phase::Closed, |handles| handles.failures.increment(1));
    }

    fn on_ignored(&self, name: &str) {
        self.with(name, Phase::Closed, |handles| handles.ignored.increment(1));
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("circuits", &self.read().len())
            .finish()
    }
}
