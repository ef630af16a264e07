//! Where a circuit stands: [`State`] for inspection, [`Phase`] for transitions.

use std::time::Duration;

/// The state of a circuit, as [`Breaker::state`](crate::Breaker::state) reports it.
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
    pub fn phase(&self) -> Phase {
        match self {
            State::Closed => Phase::Closed,
            State::Open { .. } => Phase::Open,
            State::HalfOpen => Phase::HalfOpen,
        }
    }

    /// Whether calls run normally.
    pub fn is_closed(&self) -> bool {
        matches!(self, State::Closed)
    }

    /// Whether calls are refused.
    pub fn is_open(&self) -> bool {
        matches!(self, State::Open { .. })
    }

    /// Whether probe calls are being let through.
    pub fn is_half_open(&self) -> bool {
        matches!(self, State::HalfOpen)
    }
}

/// The three phases of a circuit, as named in [`Transition`](crate::Transition)s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Calls run.
    Closed,
    /// Calls are refused.
    Open,
    /// Probe calls run.
    HalfOpen,
}
