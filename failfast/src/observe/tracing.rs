//! [`Tracing`]: a listener that logs a breaker's transitions, refusals and failures.

use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard};

use tracing::Level;

use crate::error::Open;
use crate::event::{Events, Listener, Transition};
use crate::name::Name;
use crate::state::Phase;

/// A [`Listener`] that logs a breaker's events with `tracing` (feature `tracing`), each with the
/// field `circuit`, the circuit's name:
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
/// logged at `DEBUG`. When neither level is enabled, a refusal costs one check of the level.
/// Successes, and errors that do not count, are not logged; so a breaker with this listener
/// pays nothing more for a successful call.
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
#[derive(Debug, Default)]
pub struct Tracing {
    /// The circuits that opened and have refused no call since: their next refusal is logged at
    /// `DEBUG`. Only circuits that are not closed are kept.
    opened: Mutex<HashSet<Name>>,
}

impl Tracing {
    /// A listener that logs the events of the breakers it is given to.
    ///
    /// ```
    /// use failfast::{Events, Listener, observe};
    /// assert!(!observe::Tracing::new().hears().contains(Events::SUCCESSES));
    /// ```
    pub fn new() -> Tracing {
        Tracing::default()
    }

    fn opened(&self) -> MutexGuard<'_, HashSet<Name>> {
        self.opened.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Listener for Tracing {
    fn hears(&self) -> Events {
        Events::TRANSITIONS | Events::REJECTIONS | Events::FAILURES
    }

    fn on_transition(&self, t: &Transition) {
        let circuit = t.name.as_str();
        match t.to {
            Phase::Open => {
                self.opened().insert(t.name.clone());
                tracing::warn!(circuit, from = %t.from, to = %t.to, reason = %t.reason, "{t}");
            }
            Phase::HalfOpen => {
                tracing::info!(circuit, from = %t.from, to = %t.to, reason = %t.reason, "{t}");
            }
            Phase::Closed => {
                self.opened().remove(circuit);
                tracing::info!(circuit, from = %t.from, to = %t.to, reason = %t.reason, "{t}");
            }
        }
    }

    fn on_rejected(&self, open: &Open) {
        if !tracing::enabled!(Level::DEBUG) {
            return;
        }
        let circuit = open.name();
        if self.opened().remove(circuit) {
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
            "{name}: a call failed, and the failure counts"
        );
    }
}
