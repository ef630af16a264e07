//! Where a circuit stands: [`State`] for inspection, [`Phase`] for transitions.

use std::time::Duration;

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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Calls run, and their outcomes are counted by the trip policy.
    Closed,
    /// Calls are refused without running.
    Open {
        /// How long until the open period ends (zero if it has ended and no call has looked yet).
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Calls run.
    Closed,
    /// Calls are refused.
    Open,
    /// Probe calls run.
    HalfOpen,
}
