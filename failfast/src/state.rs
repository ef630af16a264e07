//! Where a circuit stands: [`State`] for inspection, [`Phase`] for transitions.

use std::fmt;
use std::time::Duration;

use crate::error::RetryIn;

/// The state of a circuit, as [`Breaker::state`](crate::Breaker::state) reports it.
///
/// ```
/// use std::time::Duration;
/// use failfast::{Breaker, Phase, State};
/// let breaker = Breaker::new("cdn", Duration::from_secs(30));
/// breaker.force_open(Duration::from_secs(30));
/// let state = breaker.state();
/// match state {
///     State::Closed => println!("healthy"),
///     State::Open { retry_in } => assert!(retry_in <= Duration::from_secs(30)),
///     State::HalfOpen => println!("probing"),
/// }
/// ```
///
/// With the `serde` feature, a state is an object named by its phase, and an open one tells
/// how long until it probes in whole milliseconds, rounded up: `{"phase":"closed"}`,
/// `{"phase":"open","retry_in_ms":1500}`, `{"phase":"half_open"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(tag = "phase", rename_all = "snake_case"))]
pub enum State {
    /// Calls run, and their outcomes are counted by the trip policy.
    Closed,
    /// Calls are refused without running.
    Open {
        /// How long until the open period ends (zero if it has ended and no call has looked yet).
        #[cfg_attr(
            feature = "serde",
            serde(rename = "retry_in_ms", with = "crate::observe::serde::millis")
        )]
        retry_in: Duration,
    },
    /// A limited number of probe calls run; their outcomes close or reopen the circuit.
    HalfOpen,
}

impl State {
    /// The phase this state is in, without its timing.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::{Breaker, Phase, State};
    /// let breaker = Breaker::new("cdn", Duration::from_secs(30));
    /// breaker.force_open(Duration::from_secs(30));
    /// let state = breaker.state();
    /// assert_eq!(state.phase(), Phase::Open);
    /// ```
    pub fn phase(&self) -> Phase {
        match self {
            State::Closed => Phase::Closed,
            State::Open { .. } => Phase::Open,
            State::HalfOpen => Phase::HalfOpen,
        }
    }

    /// Whether calls run normally.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::{Breaker, Phase, State};
    /// let breaker = Breaker::new("cdn", Duration::from_secs(30));
    /// breaker.force_open(Duration::from_secs(30));
    /// let state = breaker.state();
    /// assert!(!state.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, State::Closed)
    }

    /// Whether calls are refused.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::{Breaker, Phase, State};
    /// let breaker = Breaker::new("cdn", Duration::from_secs(30));
    /// breaker.force_open(Duration::from_secs(30));
    /// let state = breaker.state();
    /// assert!(state.is_open());
    /// ```
    pub fn is_open(&self) -> bool {
        matches!(self, State::Open { .. })
    }

    /// Whether probe calls are being let through.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::{Breaker, Phase, State};
    /// let breaker = Breaker::new("cdn", Duration::from_secs(30));
    /// breaker.force_open(Duration::from_secs(30));
    /// let state = breaker.state();
    /// assert!(!state.is_half_open());
    /// ```
    pub fn is_half_open(&self) -> bool {
        matches!(self, State::HalfOpen)
    }
}

/// The three phases of a circuit, as named in [`Transition`](crate::Transition)s.
///
/// ```
/// use std::time::Duration;
/// use failfast::{Breaker, Phase, State};
/// let breaker = Breaker::new("cdn", Duration::from_secs(30));
/// breaker.force_open(Duration::from_secs(30));
/// let state = breaker.state();
/// assert_eq!(state.phase(), Phase::Open);
/// assert_ne!(Phase::Open, Phase::HalfOpen);
/// ```
///
/// With the `serde` feature, a phase is `"closed"`, `"open"` or `"half_open"` (snake case, as
/// label values and JSON keys are written; [`Display`](fmt::Display) writes `half-open`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Phase {
    /// Calls run.
    Closed,
    /// Calls are refused.
    Open,
    /// Probe calls run.
    HalfOpen,
}

impl fmt::Display for Phase {
    /// `closed`, `open` or `half-open`.
    ///
    /// ```
    /// assert_eq!(failfast::Phase::HalfOpen.to_string(), "half-open");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Phase::Closed => "closed",
            Phase::Open => "open",
            Phase::HalfOpen => "half-open",
        })
    }
}

impl fmt::Display for State {
    /// The phase, and for an open circuit how long until it lets a probe through:
    /// `open, retry in 1.5s`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::State;
    /// assert_eq!(State::Open { retry_in: Duration::from_millis(1500) }.to_string(), "open, retry in 1.5s");
    /// assert_eq!(State::Open { retry_in: Duration::from_nanos(1_499_881_557) }.to_string(), "open, retry in 1.5s");
    /// assert_eq!(State::Closed.to_string(), "closed");
    /// ```
    ///
    /// The wait is in whole milliseconds, rounded up, as a refusal ([`Open`](crate::Open))
    /// prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            State::Open { retry_in } => write!(f, "open, {}", RetryIn(*retry_in)),
            other => other.phase().fmt(f),
        }
    }
}
