//! The two-step form of a guarded call: a [`Permit`] taken before the call, spent after it.

use std::fmt;

use crate::breaker::Breaker;
use crate::error::Error;

/// Leave to make one call through an open-or-closed circuit, from
/// [`Breaker::try_acquire`]. Spend it with [`success`](Permit::success),
/// [`failure`](Permit::failure) or [`ignore`](Permit::ignore); a permit dropped unspent counts
/// as nothing and gives its half-open probe slot back.
///
/// Use it where the call cannot be wrapped in a closure or a future:
///
/// ```
/// use std::time::Duration;
/// use failfast::Breaker;
///
/// let breaker = Breaker::new("billing", Duration::from_secs(30));
/// match breaker.try_acquire() {
///     Ok(permit) => {
///         let status = 503; // ... make the call ...
///         if status >= 500 { permit.failure() } else { permit.success() }
///     }
///     Err(open) => println!("skipped: {open}"),
/// }
/// assert!(breaker.state().is_open());
/// ```
#[must_use = "a permit records nothing unless it is spent with success(), failure() or ignore()"]
pub struct Permit<'a> {
    pub(crate) breaker: &'a Breaker,
    pub(crate) ticket: Ticket,
    /// Set while the guarded code runs: a drop then means it unwound, which counts as a failure.
    pub(crate) fail_on_drop: bool,
}

/// What a permit was granted as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ticket {
    /// The breaker is disabled: nothing is recorded.
    Bypass,
    /// A call in the closed phase of `generation`, started at `started` (if timed).
    Closed { generation: u32, started: u64 },
    /// Half-open probe `id` of `generation`.
    Probe {
        generation: u32,
        id: u32,
        started: u64,
    },
    /// Already recorded.
    Spent,
}

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Success,
    Failure,
    Ignored,
}

impl<'a> Permit<'a> {
    #[inline]
    pub(crate) fn new(breaker: &'a Breaker, ticket: Ticket) -> Self {
        Permit {
            breaker,
            ticket,
            fail_on_drop: false,
        }
    }

    /// The call succeeded.
    #[inline]
    pub fn success(self) {
        self.spend(Verdict::Success);
    }

    /// The call failed in a way that counts against the circuit.
    #[inline]
    pub fn failure(self) {
        self.spend(Verdict::Failure);
    }

    /// The call failed in a way that says nothing about the dependency's health (a validation
    /// error, a 404): counted in [`Stats::ignored`](crate::Stats::ignored) and nowhere else.
    #[inline]
    pub fn ignore(self) {
        self.spend(Verdict::Ignored);
    }

    /// Spends the permit on `result`: a success, or an error that counts if `counts` says so.
    #[inline]
    pub(crate) fn settle<T, E>(
        self,
        result: Result<T, E>,
        counts: impl FnOnce(&E) -> bool,
    ) -> Result<T, Error<E>> {
        match result {
            Ok(value) => {
                self.success();
                Ok(value)
            }
            Err(error) => {
                if counts(&error) {
                    self.failure();
                } else {
                    self.ignore();
                }
                Err(Error::Inner(error))
            }
        }
    }

    #[inline]
    fn spend(mut self, verdict: Verdict) {
        let ticket = std::mem::replace(&mut self.ticket, Ticket::Spent);
        self.breaker.record(ticket, verdict);
    }
}

impl Drop for Permit<'_> {
    #[inline]
    fn drop(&mut self) {
        match self.ticket {
            Ticket::Spent | Ticket::Bypass => {}
            ticket if self.fail_on_drop => self.breaker.record(ticket, Verdict::Failure),
            ticket => self.breaker.release(ticket),
        }
    }
}

impl fmt::Debug for Permit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("breaker", &self.breaker.name())
            .field("ticket", &self.ticket)
            .finish()
    }
}
