//! [`Tracing`]: a listener that logs a breaker's transitions, refusals and failures.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use tracing::Level;
use tracing::level_filters::{LevelFilter, STATIC_MAX_LEVEL};

use crate::error::Open;
use crate::event::{BreakerInfo, Events, Listener, Transition};
use crate::name::Escaped;
use crate::state::Phase;

/// A [`Listener`] that logs a breaker's events with `tracing` (feature `tracing`), each with the
/// field `circuit`, the circuit's name, and the target `failfast::observe::tracing` (so a
/// filter of `failfast=debug` shows them all):
///
/// | event | level | fields |
/// |-------|-------|--------|
/// | the circuit opens | `WARN` | `circuit`, `from`, `to`, `reason` |
/// | it goes half-open, or closes | `INFO` | `circuit`, `from`, `to`, `reason` |
/// | the first refused call after it opens | `DEBUG` | `circuit` |
/// | every further refused call | `TRACE` | `circuit` |
/// | a call whose failure counts | `DEBUG` | `circuit` |
///
/// A transition's message is the transition in words:
/// `sales_api: closed -> open (3 failures in a row; open for 60s)`. An open circuit refuses
/// every call, so refusals come at the rate of the calls: only the first after each opening is
/// logged at `DEBUG`. When neither level is enabled, a refusal costs the call of the listener
/// and one check of the level; when `tracing` is built without them (its `max_level_info`
/// features), not even that. Successes, and errors that do not count, are not logged; so a
/// breaker with this listener pays nothing more for a successful call.
///
/// ```
/// use std::time::Duration;
/// use failfast::{Breaker, Registry, observe};
///
/// // Every breaker the registry makes from now on, `#[failfast("name", ..)]`'s included:
/// Registry::global().add_listener(observe::Tracing::new());
///
/// // Or one breaker:
/// let breaker = Breaker::builder("sales_api")
///     .open_for(Duration::from_secs(60))
///     .listener(observe::Tracing::new())
///     .build()?;
/// let _ = breaker.call(|| Err::<(), _>("timed out")); // WARN sales_api: closed -> open (..)
/// # Ok::<(), failfast::ConfigError>(())
/// ```
#[derive(Debug, Default, Clone)]
#[non_exhaustive]
pub struct Tracing;

impl Tracing {
    /// A listener that logs the events of the breakers it is given to.
    ///
    /// ```
    /// use failfast::{Events, Listener, observe};
    /// assert!(!observe::Tracing::new().hears().contains(Events::SUCCESSES));
    /// ```
    pub fn new() -> Tracing {
        Tracing
    }
}

/// Gives each breaker a log of its own, which knows whether the circuit has refused a call since
/// it opened. Told of an event itself (as an observer a store subscribed, say), it logs every
/// refusal at `TRACE`.
impl Listener for Tracing {
    fn hears(&self) -> Events {
        Log::HEARS
    }

    fn attach(&self, breaker: &BreakerInfo<'_>) -> Option<Arc<dyn Listener>> {
        // A breaker that joins an open circuit (a process restarting while the fleet's is
        // open) logs its first refusal at `DEBUG` too.
        Some(Arc::new(Log {
            opened: AtomicBool::new(breaker.state.is_open()),
        }))
    }

    fn on_transition(&self, transition: &Transition) {
        Log::default().on_transition(transition)
    }

    fn on_rejected(&self, open: &Open) {
        Log::default().on_rejected(open)
    }

    fn on_failure(&self, name: &str) {
        Log::default().on_failure(name)
    }
}

/// One breaker's log: the listener a breaker built with [`Tracing`] keeps.
#[derive(Default)]
struct Log {
    /// Whether the circuit opened and has refused no call since: its next refusal is logged at
    /// `DEBUG`.
    opened: AtomicBool,
}

impl Log {
    /// Transitions; and refusals and failures unless `tracing` is built without its `DEBUG`
    /// events (its `max_level_info` features), and then the breaker does not call for them.
    const HEARS: Events = if matches!(STATIC_MAX_LEVEL, LevelFilter::TRACE | LevelFilter::DEBUG) {
        Events::TRANSITIONS
            .union(Events::REJECTIONS)
            .union(Events::FAILURES)
    } else {
        Events::TRANSITIONS
    };
}

impl Listener for Log {
    fn hears(&self) -> Events {
        Log::HEARS
    }

    fn on_transition(&self, t: &Transition) {
        let circuit = t.name.as_str();
        self.opened.store(t.to == Phase::Open, Relaxed);
        match t.to {
            Phase::Open => {
                tracing::warn!(circuit, from = %t.from, to = %t.to, reason = %t.reason, "{t}");
            }
            Phase::HalfOpen | Phase::Closed => {
                tracing::info!(circuit, from = %t.from, to = %t.to, reason = %t.reason, "{t}");
            }
        }
    }

    fn on_rejected(&self, open: &Open) {
        if !tracing::enabled!(Level::DEBUG) {
            return;
        }
        let circuit = open.name();
        if self.opened.swap(false, Relaxed) {
            tracing::debug!(
                circuit,
                "{open}: refusing calls (the next refusals until it opens again at TRACE)"
            );
        } else {
            tracing::trace!(circuit, "{open}: call refused");
        }
    }

    fn on_failure(&self, name: &str) {
        tracing::debug!(
            circuit = name,
            "{}: a call failed, and the failure counts",
            Escaped(name)
        );
    }
}
