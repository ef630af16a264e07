//! The two-step form of a guarded call: a [`Permit`] taken before the call, spent after it.

use std::fmt;

use crate::breaker::Breaker;
use crate::error::Error;
use crate::event::Events;

/// Leave to make one call through a closed or half-open circuit, from
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

/// What a call was let through as: sixteen bytes of plain data, so that the hot path keeps it
/// in registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ticket {
    /// The generation (high half) and a probe's id or one of the markers below (low half), in
    /// one word: built and read whole, never half by half, which the processor would stall on.
    tag: u64,
    /// When the call started, for timed policies; zero otherwise.
    started: u64,
}

/// The kinds of ticket, as [`Ticket::kind`] reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TicketKind {
    /// The breaker is disabled: nothing is recorded.
    Bypass,
    /// A call in the closed phase.
    Closed,
    /// A half-open probe with this id.
    Probe(u32),
    /// Already recorded.
    Spent,
}

const CLOSED: u32 = u32::MAX;
const BYPASS: u32 = u32::MAX - 1;
const SPENT: u32 = u32::MAX - 2;

impl Ticket {
    pub(crate) const BYPASS: Ticket = Ticket::new(0, BYPASS, 0);

    #[inline(always)]
    const fn new(generation: u32, slot: u32, started: u64) -> Self {
        Ticket {
            tag: ((generation as u64) << 32) | slot as u64,
            started,
        }
    }

    #[inline(always)]
    pub(crate) fn closed(generation: u32, started: u64) -> Self {
        Ticket::new(generation, CLOSED, started)
    }

    /// A probe permit; `id` is below [`MAX_PROBE_ID`](crate::half_open::MAX_PROBE_ID).
    pub(crate) fn probe(generation: u32, id: u32, started: u64) -> Self {
        debug_assert!(id < crate::half_open::MAX_PROBE_ID);
        Ticket::new(generation, id, started)
    }

    #[inline(always)]
    pub(crate) fn kind(&self) -> TicketKind {
        match self.tag as u32 {
            CLOSED => TicketKind::Closed,
            BYPASS => TicketKind::Bypass,
            SPENT => TicketKind::Spent,
            id => TicketKind::Probe(id),
        }
    }

    /// Whether this is a half-open probe's ticket.
    #[inline(always)]
    pub(crate) fn is_probe(&self) -> bool {
        (self.tag as u32) < crate::half_open::MAX_PROBE_ID
    }

    #[inline(always)]
    pub(crate) fn generation(&self) -> u32 {
        (self.tag >> 32) as u32
    }

    #[inline(always)]
    pub(crate) fn started(&self) -> u64 {
        self.started
    }

    #[inline(always)]
    pub(crate) fn spend(&mut self) -> Ticket {
        let ticket = *self;
        *self = Ticket::new(self.generation(), SPENT, self.started);
        ticket
    }
}

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Success,
    Failure,
    Ignored,
}

impl Verdict {
    /// The verdict on `result`: a success, or an error that counts if `counts` says so.
    #[inline(always)]
    pub(crate) fn of<T, E>(result: &Result<T, E>, counts: impl FnOnce(&E) -> bool) -> Verdict {
        match result {
            Ok(_) => Verdict::Success,
            Err(error) if counts(error) => Verdict::Failure,
            Err(_) => Verdict::Ignored,
        }
    }

    /// The event that tells listeners of this verdict.
    #[inline(always)]
    pub(crate) fn event(self) -> Events {
        match self {
            Verdict::Success => Events::SUCCESSES,
            Verdict::Failure => Events::FAILURES,
            Verdict::Ignored => Events::IGNORED,
        }
    }
}

impl<'a> Permit<'a> {
    #[inline(always)]
    pub(crate) fn new(breaker: &'a Breaker, ticket: Ticket) -> Self {
        Permit {
            breaker,
            ticket,
            fail_on_drop: false,
        }
    }

    /// The call succeeded.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::Breaker;
    /// let breaker = Breaker::new("smtp", Duration::from_secs(60));
    /// breaker.try_acquire().unwrap().success();
    /// assert_eq!(breaker.stats().successes, 1);
    /// ```
    #[inline(always)]
    pub fn success(self) {
        self.spend(Verdict::Success);
    }

    /// The call failed in a way that counts against the circuit.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::Breaker;
    /// let breaker = Breaker::new("smtp", Duration::from_secs(60));
    /// breaker.try_acquire().unwrap().failure();
    /// assert!(breaker.state().is_open());
    /// ```
    #[inline(always)]
    pub fn failure(self) {
        self.spend(Verdict::Failure);
    }

    /// The call failed in a way that says nothing about the dependency's health (a validation
    /// error, a 404): counted in [`Stats::ignored`](crate::Stats::ignored) and nowhere else.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::Breaker;
    /// let breaker = Breaker::new("smtp", Duration::from_secs(60));
    /// breaker.try_acquire().unwrap().ignore(); // e.g. the recipient does not exist
    /// assert!(breaker.state().is_closed());
    /// assert_eq!(breaker.stats().ignored, 1);
    /// ```
    #[inline(always)]
    pub fn ignore(self) {
        self.spend(Verdict::Ignored);
    }

    /// Spends the permit on `result`: a success, or an error that counts if `counts` says so
    /// (a panic in `counts` counts as a failure).
    #[inline(always)]
    pub(crate) fn settle<T, E>(
        mut self,
        result: Result<T, E>,
        counts: impl FnOnce(&E) -> bool,
    ) -> Result<T, Error<E>> {
        self.fail_on_drop = true;
        let verdict = Verdict::of(&result, counts);
        self.spend(verdict);
        result.map_err(Error::Inner)
    }

    #[inline(always)]
    fn spend(mut self, verdict: Verdict) {
        let ticket = self.ticket.spend();
        self.breaker.record(ticket, verdict);
    }
}

impl Drop for Permit<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        dropped(self.breaker, self.ticket, self.fail_on_drop);
    }
}

/// A permit dropped unspent: a failure if the guarded code was unwinding, nothing otherwise
/// (a probe's slot is given back).
#[inline(always)]
fn dropped(breaker: &Breaker, ticket: Ticket, fail_on_drop: bool) {
    match ticket.kind() {
        TicketKind::Spent | TicketKind::Bypass => {}
        _ if fail_on_drop => breaker.record(ticket, Verdict::Failure),
        _ => breaker.release(ticket),
    }
}

/// A [`Permit`] that owns a clone of its breaker, for futures that must be `'static` (a tower
/// service's response future).
#[cfg(feature = "tower")]
pub(crate) struct OwnedPermit {
    pub(crate) breaker: Breaker,
    pub(crate) ticket: Ticket,
    /// As [`Permit`]'s: set while the guarded code runs.
    pub(crate) fail_on_drop: bool,
}

#[cfg(feature = "tower")]
impl OwnedPermit {
    /// Records `verdict`; the permit stays, spent, until it is dropped.
    #[inline(always)]
    pub(crate) fn spend_in_place(&mut self, verdict: Verdict) {
        let ticket = self.ticket.spend();
        self.breaker.record(ticket, verdict);
    }

    /// Whether the outcome is recorded.
    #[inline(always)]
    pub(crate) fn is_spent(&self) -> bool {
        self.ticket.kind() == TicketKind::Spent
    }
}

#[cfg(feature = "tower")]
impl Drop for OwnedPermit {
    #[inline(always)]
    fn drop(&mut self) {
        dropped(&self.breaker, self.ticket, self.fail_on_drop);
    }
}

/// Records a failure if dropped: held by [`Breaker::call_if`] while the guarded code runs, and
/// forgotten when it returns, so that it is only ever dropped by a panic unwinding.
pub(crate) struct FailOnUnwind<'a> {
    pub(crate) breaker: &'a Breaker,
    pub(crate) ticket: Ticket,
}

impl Drop for FailOnUnwind<'_> {
    fn drop(&mut self) {
        self.breaker.record(self.ticket, Verdict::Failure);
    }
}

/// Gives a probe permit back if dropped: held while a store that may panic decides whether to
/// grant the probe.
pub(crate) struct GiveBackOnUnwind<'a> {
    pub(crate) breaker: &'a Breaker,
    pub(crate) generation: u32,
    pub(crate) id: u32,
}

impl Drop for GiveBackOnUnwind<'_> {
    fn drop(&mut self) {
        self.breaker.give_back(self.generation, self.id);
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
