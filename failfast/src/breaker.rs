//! The [`Breaker`]: guarded calls, permits, inspection and control.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::builder::Builder;
use crate::circuit::{Admission, Circuit, Fast, ProbeOutcome, TransitionSettings};
use crate::error::{Error, Open};
use crate::event::{Events, Listener, Listeners, Panic, resume_unless_unwinding};
use crate::name::Name;
use crate::nested;
use crate::permit::{FailOnUnwind, GiveBackOnUnwind, Permit, Ticket, TicketKind, Verdict};
use crate::policy::{Outcome, Tripper};
use crate::retry::Ledger;
use crate::run::Run;
use crate::state::State;
use crate::stats::Stats;
use crate::store::{ProbeClaim, Store};
use crate::thread_counts::{Counters, Hot, Rare};

/// A circuit breaker: guards calls to one dependency and refuses them, fast, while the
/// dependency is failing.
///
/// `Breaker::new(name, open_for)` behaves like the Python `failfast` decorator, with recovery
/// added: the first failure opens the circuit for `open_for`; while it is open, calls return
/// [`Error::Open`] without running; then one probe call is let through, and its success closes
/// the circuit while its failure opens it again. [`Breaker::builder`] configures everything else.
///
/// A `Breaker` is a handle: clones share one breaker, and cloning is cheap.
///
/// ```
/// use std::time::Duration;
/// use failfast::{Breaker, Error};
///
/// let breaker = Breaker::new("sales_api", Duration::from_secs(60));
///
/// let invoices = breaker.call(|| fetch_invoices());
/// match invoices {
///     Ok(invoices) => println!("{invoices:?}"),
///     Err(Error::Inner(e)) => println!("the call failed: {e}"),
///     Err(Error::Open(open)) => println!("not even tried: {open}"),
/// }
/// # fn fetch_invoices() -> Result<Vec<u32>, std::io::Error> { Ok(vec![]) }
/// ```
#[derive(Clone)]
pub struct Breaker {
    shared: Arc<Shared>,
}

/// Everything clones of a breaker share.
pub(crate) struct Shared {
    pub(crate) name: Name,
    pub(crate) enabled: AtomicBool,
    pub(crate) circuit: Arc<Circuit>,
    pub(crate) tripper: Tripper,
    pub(crate) settings: TransitionSettings,
    pub(crate) listeners: Listeners,
    pub(crate) counters: Counters,
    pub(crate) store: Option<Arc<dyn Store>>,
    /// The retries made through this breaker, for retry budgets: made on the first retry.
    pub(crate) retry_ledger: OnceLock<Box<Ledger>>,
}

impl Breaker {
    /// A breaker that opens on the first failure and stays open for `open_for` before probing.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::Breaker;
    /// let breaker = Breaker::new("sales_api", Duration::from_secs(60));
    /// assert_eq!(breaker.name(), "sales_api");
    /// assert!(breaker.state().is_closed());
    /// ```
    pub fn new(name: impl Into<Name>, open_for: Duration) -> Breaker {
        Builder::new(name).open_for(open_for).assemble()
    }

    /// Starts configuring a breaker named `name`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::{Breaker, TripPolicy};
    /// let breaker = Breaker::builder("sales_api")
    ///     .trip(TripPolicy::consecutive_failures(5))
    ///     .open_for(Duration::from_secs(30))
    ///     .build()?;
    /// # let _ = breaker;
    /// # Ok::<(), failfast::ConfigError>(())
    /// ```
    pub fn builder(name: impl Into<Name>) -> Builder {
        Builder::new(name)
    }

    pub(crate) fn from_shared(shared: Shared) -> Breaker {
        let shared = Arc::new(shared);
        for listener in shared.listeners.hearing(Events::TRANSITIONS) {
            shared.circuit.subscribe(Arc::downgrade(listener));
        }
        Breaker { shared }
    }

    /// Runs `call` if the circuit allows it, and counts its outcome: every `Err` is a failure.
    ///
    /// A panic in `call` counts as a failure and keeps unwinding.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::Breaker;
    /// let breaker = Breaker::new("parser", Duration::from_secs(60));
    /// let n = breaker.call(|| "42".parse::<u32>());
    /// assert_eq!(n.unwrap(), 42);
    /// let bad = breaker.call(|| "x".parse::<u32>());
    /// assert!(bad.unwrap_err().into_inner().is_some());
    /// assert!(breaker.state().is_open());
    /// ```
    #[inline]
    pub fn call<T, E, F>(&self, call: F) -> Result<T, Error<E>>
    where
        F: FnOnce() -> Result<T, E>,
    {
        self.call_if(|_| true, call)
    }

    /// Runs `call` if the circuit allows it; an error counts as a failure only if `counts`
    /// returns `true` for it. Other errors are returned as [`Error::Inner`] and count as neither
    /// success nor failure, like the `exceptions=` list of the Python decorator.
    ///
    /// A panic in `call` or in `counts` counts as a failure and keeps unwinding.
    ///
    /// A call made through the same circuit inside a half-open probe, on the probe's thread (a
    /// guarded function calling another on the same circuit, or itself), runs as part of the
    /// probe: it takes no permit of its own and is not counted, and the probe's outcome is the
    /// one that counts. So nesting never turns a refusal into the probe's failure. (A probe
    /// taken with [`try_acquire`](Self::try_acquire) is not watched this way, nor is work a
    /// probe hands to another thread or task: such calls ask for a permit of their own.) While the
    /// circuit is closed, nested calls are calls like any other: an error that fails the inner
    /// call and then the outer one counts twice. Guard one level, or let the outer level count
    /// only its own errors.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::Breaker;
    ///
    /// #[derive(Debug)]
    /// enum ApiError { Timeout, NotFound }
    ///
    /// let breaker = Breaker::new("catalog", Duration::from_secs(10));
    /// let is_outage = |e: &ApiError| matches!(e, ApiError::Timeout);
    /// let _ = breaker.call_if(is_outage, || Err::<(), _>(ApiError::NotFound));
    /// assert!(breaker.state().is_closed(), "a 404 says nothing about the catalog's health");
    /// let _ = breaker.call_if(is_outage, || Err::<(), _>(ApiError::Timeout));
    /// assert!(breaker.state().is_open());
    /// ```
    #[inline(always)]
    pub fn call_if<T, E, P, F>(&self, counts: P, call: F) -> Result<T, Error<E>>
    where
        P: FnOnce(&E) -> bool,
        F: FnOnce() -> Result<T, E>,
    {
        // Not `call_into(.., Error::Open, Error::Inner)`: through it a refused call measured
        // 10.2 ns against 3.9 ns (`cargo bench -p benches --bench breaker`), and a closed one
        // 4.1 ns against 3.8 ns.
        let ticket = self.admit()?;
        if ticket.is_probe() {
            return self.call_probe(ticket, counts, call);
        }
        let (result, verdict) = self.judge(ticket, counts, call);
        self.record(ticket, verdict);
        result.map_err(Error::Inner)
    }

    /// [`call_if`](Self::call_if), with the refusal and the call's error each made into the
    /// error the caller returns, without an [`Error`] between: a `Result` holding one is
    /// returned through memory, which would cost the macro's closed path a store and a reload.
    #[inline(always)]
    pub(crate) fn call_into<T, E, R, P, F>(
        &self,
        counts: P,
        call: F,
        refused: impl FnOnce(Open) -> R,
        failed: impl FnOnce(E) -> R,
    ) -> Result<T, R>
    where
        P: FnOnce(&E) -> bool,
        F: FnOnce() -> Result<T, E>,
    {
        let ticket = match self.admit() {
            Ok(ticket) => ticket,
            Err(open) => return Err(refused(open)),
        };
        if ticket.is_probe() {
            return match self.call_probe(ticket, counts, call) {
                Ok(value) => Ok(value),
                Err(Error::Open(open)) => Err(refused(open)),
                Err(Error::Inner(error)) => Err(failed(error)),
            };
        }
        let (result, verdict) = self.judge(ticket, counts, call);
        self.record(ticket, verdict);
        result.map_err(failed)
    }

    /// [`call_if`](Self::call_if) for a half-open probe, which calls nested in it join.
    #[cold]
    #[inline(never)]
    fn call_probe<T, E, P, F>(&self, ticket: Ticket, counts: P, call: F) -> Result<T, Error<E>>
    where
        P: FnOnce(&E) -> bool,
        F: FnOnce() -> Result<T, E>,
    {
        // The probe is remembered only while `call` runs: not while its outcome is recorded (and
        // listeners hear it), not even when `call` unwinds.
        let probing = || nested::as_part_of(&self.shared.circuit, ticket, call);
        let (result, verdict) = self.judge(ticket, counts, probing);
        self.record(ticket, verdict);
        result.map_err(Error::Inner)
    }

    /// Makes the call of `ticket` and judges its result; a panic in either is recorded as a
    /// failure as it unwinds.
    #[inline(always)]
    fn judge<T, E>(
        &self,
        ticket: Ticket,
        counts: impl FnOnce(&E) -> bool,
        call: impl FnOnce() -> Result<T, E>,
    ) -> (Result<T, E>, Verdict) {
        let guard = FailOnUnwind {
            breaker: self,
            ticket,
        };
        let result = call();
        let verdict = Verdict::of(&result, counts);
        std::mem::forget(guard);
        (result, verdict)
    }

    /// Runs `future` if the circuit allows it when first polled, and counts its outcome: every
    /// `Err` is a failure.
    ///
    /// The returned future is cancel-safe: dropped before it completes, it records nothing and
    /// gives back its half-open probe permit.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::Breaker;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let breaker = Breaker::new("profile", Duration::from_secs(5));
    /// let name = breaker.run(async { Ok::<_, std::io::Error>("ada") }).await;
    /// assert_eq!(name.unwrap(), "ada");
    /// # }
    /// ```
    #[inline]
    pub fn run<T, E, F>(&self, future: F) -> Run<'_, F, impl FnOnce(&E) -> bool + use<T, E, F>>
    where
        F: Future<Output = Result<T, E>>,
    {
        Run::new(self, future, |_: &E| true)
    }

    /// Like [`run`](Self::run), but an error counts as a failure only if `counts` returns `true`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::Breaker;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let breaker = Breaker::new("users", Duration::from_secs(5));
    /// let is_outage = |status: &u16| *status >= 500;
    /// let not_found = breaker.run_if(is_outage, async { Err::<(), u16>(404) }).await;
    /// assert_eq!(not_found.unwrap_err().into_inner(), Some(404));
    /// assert!(breaker.state().is_closed(), "a 404 does not count");
    /// # }
    /// ```
    #[inline]
    pub fn run_if<T, E, P, F>(&self, counts: P, future: F) -> Run<'_, F, P>
    where
        P: FnOnce(&E) -> bool,
        F: Future<Output = Result<T, E>>,
    {
        Run::new(self, future, counts)
    }

    /// Feature `tokio`. Like [`run`](Self::run), but `future` has `limit` to finish: past it,
    /// it is dropped, the call counts as a failure, and the error is
    /// [`TimedOut`](crate::TimedOut) through the call's own error type.
    ///
    /// This is the guarded form of `tokio::time::timeout(limit, ..)`: a time-out *around*
    /// `breaker.run(..)` drops the guarded future, which records nothing (a cancellation), so a
    /// dependency that hangs would never open the circuit.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::{Breaker, Error, TimedOut};
    ///
    /// #[derive(Debug)]
    /// enum ApiError { TimedOut(TimedOut) }
    /// impl From<TimedOut> for ApiError {
    ///     fn from(t: TimedOut) -> Self { ApiError::TimedOut(t) }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let breaker = Breaker::new("search", Duration::from_secs(30));
    /// let hangs = std::future::pending::<Result<u32, ApiError>>();
    /// let answer = breaker.run_within(Duration::from_secs(2), hangs).await;
    /// assert!(matches!(answer, Err(Error::Inner(ApiError::TimedOut(_)))));
    /// assert!(breaker.state().is_open(), "the time-out counted");
    /// # }
    /// ```
    #[cfg(feature = "tokio")]
    pub async fn run_within<T, E, F>(&self, limit: Duration, future: F) -> Result<T, Error<E>>
    where
        F: Future<Output = Result<T, E>>,
        E: From<crate::TimedOut>,
    {
        self.run_if_within(limit, |_: &E| true, future).await
    }

    /// Feature `tokio`. Like [`run_within`](Self::run_within), but an error of the call's own
    /// counts as a failure only if `counts` returns `true`. A time-out always counts.
    #[cfg(feature = "tokio")]
    pub async fn run_if_within<T, E, P, F>(
        &self,
        limit: Duration,
        counts: P,
        future: F,
    ) -> Result<T, Error<E>>
    where
        P: FnOnce(&E) -> bool,
        F: Future<Output = Result<T, E>>,
        E: From<crate::TimedOut>,
    {
        // Atomic, not a `Cell`, so that the future stays `Send` when `future` is.
        let timed_out = AtomicBool::new(false);
        let bounded = async {
            match tokio::time::timeout(limit, future).await {
                Ok(result) => result,
                Err(_) => {
                    timed_out.store(true, Relaxed);
                    Err(E::from(crate::TimedOut::after(limit)))
                }
            }
        };
        self.run_if(|e: &E| timed_out.load(Relaxed) || counts(e), bounded)
            .await
    }

    /// Asks for leave to make one call, for code that cannot hand the call over as a closure
    /// or a future. See [`Permit`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::Breaker;
    /// let breaker = Breaker::new("queue", Duration::from_secs(60));
    /// let permit = breaker.try_acquire().expect("closed: calls are let through");
    /// permit.success();
    /// breaker.force_open(Duration::from_secs(60));
    /// assert!(breaker.try_acquire().is_err());
    /// ```
    #[inline(always)]
    pub fn try_acquire(&self) -> Result<Permit<'_>, Open> {
        self.admit().map(|ticket| Permit::new(self, ticket))
    }

    #[inline(always)]
    pub(crate) fn admit(&self) -> Result<Ticket, Open> {
        let shared = &*self.shared;
        if !shared.enabled.load(Relaxed) {
            return Ok(Ticket::BYPASS);
        }
        match shared.circuit.fast() {
            Fast::Closed(generation) => Ok(Ticket::closed(generation, self.started())),
            Fast::Refuse(retry_at) => Err(self.refuse(retry_at)),
            Fast::Ask => self.ask(),
        }
    }

    /// The slow way in: half-open, or open on a clock without alarms.
    #[cold]
    #[inline(never)]
    fn ask(&self) -> Result<Ticket, Open> {
        let shared = &*self.shared;
        if let Some(generation) = nested::probe_running(&shared.circuit) {
            if shared.circuit.is_half_open_in(generation) {
                return Ok(Ticket::BYPASS); // part of the probe this thread is running
            }
        }
        match shared.circuit.admit(&shared.settings) {
            Ok(Admission::Closed(generation)) => Ok(Ticket::closed(generation, self.started())),
            Ok(Admission::Probe(generation, id)) => {
                let ticket = Ticket::probe(generation, id, self.started());
                let half_open = &shared.settings.half_open;
                let claim = ProbeClaim {
                    probes: half_open.probes,
                    ttl: half_open.probe_timeout,
                    probe: probe_number(generation, id),
                };
                let granted = match &shared.store {
                    Some(store) => {
                        // A store that panics must not keep the permit until the probe timeout.
                        let guard = GiveBackOnUnwind {
                            breaker: self,
                            generation,
                            id,
                        };
                        let granted = store.claim_probe(&shared.circuit, claim);
                        std::mem::forget(guard);
                        granted
                    }
                    None => true,
                };
                if granted {
                    Ok(ticket)
                } else {
                    self.give_back(generation, id);
                    Err(self.refuse(self.now()))
                }
            }
            Err(retry_at) => Err(self.refuse(retry_at)),
        }
    }

    #[inline(always)]
    fn started(&self) -> u64 {
        if self.shared.tripper.timed() {
            self.now()
        } else {
            0
        }
    }

    #[cold]
    #[inline(never)]
    fn now(&self) -> u64 {
        self.shared.circuit.clock().now()
    }

    #[inline(always)]
    fn refuse(&self, retry_at: u64) -> Open {
        let shared = &*self.shared;
        shared.counters.bump(Hot::Rejected);
        let open = Open::new(shared.name.clone(), retry_at, shared.circuit.clock());
        if shared.listeners.hear(Events::REJECTIONS) {
            self.notify_rejected(&open);
        }
        open
    }

    #[cold]
    #[inline(never)]
    fn notify_rejected(&self, open: &Open) {
        let listeners = &self.shared.listeners;
        if let Some(panic) = listeners.each_caught(Events::REJECTIONS, |l| l.on_rejected(open)) {
            resume_unless_unwinding(panic);
        }
    }

    /// Records how the call of `ticket` ended. Inlined into every call site: what is rare
    /// (timing, probes, tripping, a listener's panic) is kept out of line, and so is telling
    /// the listeners, but the outcome is counted here either way.
    ///
    /// Listeners hear the outcome first, then it is counted; a listener that panics neither
    /// stops the others hearing it nor keeps it from being counted, and its panic resumes once
    /// the outcome is counted.
    #[inline(always)]
    pub(crate) fn record(&self, ticket: Ticket, verdict: Verdict) {
        if matches!(ticket.kind(), TicketKind::Bypass | TicketKind::Spent) {
            return;
        }
        if self.shared.listeners.hear(verdict.event()) {
            if let Some(panic) = self.tell(verdict) {
                return self.count_and_resume(ticket, verdict, panic);
            }
        }
        self.count(ticket, verdict);
    }

    /// Tells the listeners that want it how a call ended: out of line, but not cold, as a
    /// breaker with a listener of outcomes (`observe::Metrics`) calls it on every call. Returns
    /// the first listener's panic.
    #[inline(never)]
    fn tell(&self, verdict: Verdict) -> Option<Panic> {
        let name = self.shared.name.as_str();
        self.shared
            .listeners
            .each_caught(verdict.event(), |l: &dyn Listener| match verdict {
                Verdict::Success => l.on_success(name),
                Verdict::Failure => l.on_failure(name),
                Verdict::Ignored => l.on_ignored(name),
            })
    }

    /// Counts an outcome a listener panicked on, then resumes its panic.
    #[cold]
    #[inline(never)]
    fn count_and_resume(&self, ticket: Ticket, verdict: Verdict, panic: Panic) {
        self.count(ticket, verdict);
        resume_unless_unwinding(panic);
    }

    /// Counts the outcome of a ticket that is not spent: in the stats, and in the probe or trip
    /// policy it belongs to.
    #[inline(always)]
    fn count(&self, ticket: Ticket, verdict: Verdict) {
        let shared = &*self.shared;
        let probe = match ticket.kind() {
            TicketKind::Bypass | TicketKind::Spent => return,
            TicketKind::Closed => None,
            TicketKind::Probe(id) => Some(id),
        };
        let generation = ticket.generation();
        match verdict {
            Verdict::Success => shared.counters.bump(Hot::Success),
            Verdict::Failure => shared.counters.bump_rare(Rare::Failure),
            Verdict::Ignored => shared.counters.bump_rare(Rare::Ignored),
        }
        let failure = verdict == Verdict::Failure;
        let outcome = if shared.tripper.timed() {
            self.timed_outcome(failure, ticket.started())
        } else {
            Outcome {
                failure,
                ended: 0,
                elapsed: 0,
            }
        };
        if let Some(id) = probe {
            self.finish_probe(generation, id, verdict);
            return;
        }
        let trip = match verdict {
            Verdict::Success => shared.tripper.success(generation, outcome, || self.now()),
            Verdict::Failure => shared.tripper.failure(generation, outcome, || self.now()),
            Verdict::Ignored => None,
        };
        if let Some(reason) = trip {
            self.trip(generation, reason);
        }
    }

    /// Reads the clock at the end of a call, for policies that look at time.
    #[cold]
    #[inline(never)]
    fn timed_outcome(&self, failure: bool, started: u64) -> Outcome {
        let shared = &*self.shared;
        let ended = shared.circuit.clock().now();
        let elapsed = ended.saturating_sub(started);
        if shared.tripper.is_slow(elapsed) {
            shared.counters.bump_rare(Rare::Slow);
        }
        Outcome {
            failure,
            ended,
            elapsed,
        }
    }

    #[cold]
    #[inline(never)]
    fn finish_probe(&self, generation: u32, id: u32, verdict: Verdict) {
        let outcome = match verdict {
            Verdict::Success => ProbeOutcome::Success,
            Verdict::Failure => ProbeOutcome::Failure,
            Verdict::Ignored => ProbeOutcome::Neutral,
        };
        let shared = &*self.shared;
        // The store is told even if a listener panics on the transition the probe makes: a
        // store that hands out probe tokens (`RedisStore`) would keep the fleet's otherwise.
        let delivered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            shared
                .circuit
                .finish_probe(generation, id, outcome, &shared.settings)
        }));
        if let Some(store) = &shared.store {
            store.probe_finished(&shared.circuit, probe_number(generation, id));
        }
        if let Err(panic) = delivered {
            std::panic::resume_unwind(panic);
        }
    }

    /// Gives back a probe permit that the store refused to back with a token.
    #[cold]
    #[inline(never)]
    pub(crate) fn give_back(&self, generation: u32, id: u32) {
        let shared = &*self.shared;
        shared
            .circuit
            .finish_probe(generation, id, ProbeOutcome::Neutral, &shared.settings);
    }

    #[cold]
    #[inline(never)]
    fn trip(&self, generation: u32, reason: crate::event::Reason) {
        let shared = &*self.shared;
        shared.circuit.trip(generation, reason, &shared.settings);
    }

    /// Gives back the permit of a call that ended with no outcome.
    #[cold]
    #[inline(never)]
    pub(crate) fn release(&self, ticket: Ticket) {
        if let TicketKind::Probe(id) = ticket.kind() {
            self.finish_probe(ticket.generation(), id, Verdict::Ignored);
        }
    }

    /// Whether a call now would be refused without asking: open, with time left. For a tower
    /// service's `poll_ready`, which must not wait on the inner service while the circuit is
    /// open.
    #[cfg(feature = "tower")]
    #[inline(always)]
    pub(crate) fn is_refusing(&self) -> bool {
        self.shared.enabled.load(Relaxed)
            && match self.shared.circuit.fast() {
                Fast::Closed(_) => false,
                Fast::Refuse(_) => true,
                // Open on a clock without alarms, or half-open: ask the circuit.
                Fast::Ask => self
                    .shared
                    .circuit
                    .refuses_now(&self.shared.settings.half_open),
            }
    }

    /// Counts a failure now, if the circuit would have let a call through: for a tower
    /// service that failed to become ready.
    #[cfg(feature = "tower")]
    #[cold]
    pub(crate) fn record_failure_now(&self) {
        if let Ok(ticket) = self.admit() {
            self.record(ticket, Verdict::Failure);
        }
    }

    /// A refusal that says to retry at once.
    #[cfg(feature = "tower")]
    #[cold]
    pub(crate) fn refusal_now(&self) -> Open {
        Open::new(
            self.shared.name.clone(),
            self.now(),
            self.shared.circuit.clock(),
        )
    }

    /// The ledger of retries made through this breaker.
    pub(crate) fn retry_ledger(&self) -> &Ledger {
        self.shared.retry_ledger.get_or_init(Box::default)
    }

    /// The circuit's clock's time.
    pub(crate) fn clock_now(&self) -> Duration {
        Duration::from_nanos(self.now())
    }

    pub(crate) fn circuit(&self) -> &Circuit {
        &self.shared.circuit
    }

    /// The breaker's name, which is also its circuit's.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::Breaker;
    /// assert_eq!(Breaker::new("geo", Duration::from_secs(1)).name(), "geo");
    /// ```
    pub fn name(&self) -> &Name {
        &self.shared.name
    }

    /// Where the circuit stands now.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::{Breaker, State};
    ///
    /// let breaker = Breaker::new("auth", Duration::from_secs(60));
    /// assert_eq!(breaker.state(), State::Closed);
    /// ```
    pub fn state(&self) -> State {
        self.shared.circuit.state()
    }

    /// The breaker's counts so far.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::Breaker;
    /// let breaker = Breaker::new("search", Duration::from_secs(60));
    /// let _ = breaker.call(|| Ok::<_, ()>(()));
    /// assert_eq!(breaker.stats().successes, 1);
    /// ```
    pub fn stats(&self) -> Stats {
        let shared = &*self.shared;
        Stats::new(shared.counters.sum(), shared.circuit.transitions())
    }

    /// Opens the circuit for `duration`, whatever its state; afterwards it probes as usual.
    /// For maintenance windows and for tests.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::Breaker;
    ///
    /// let breaker = Breaker::new("warehouse", Duration::from_secs(1));
    /// breaker.force_open(Duration::from_secs(600));
    /// assert!(breaker.call(|| Ok::<_, ()>(())).unwrap_err().is_open());
    /// ```
    pub fn force_open(&self, duration: Duration) {
        self.shared.circuit.force_open(duration);
    }

    /// Closes the circuit and forgets its failures and backoff, whatever its state.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::Breaker;
    ///
    /// let breaker = Breaker::new("warehouse", Duration::from_secs(600));
    /// let _ = breaker.call(|| Err::<(), _>("down"));
    /// breaker.reset();
    /// assert!(breaker.state().is_closed());
    /// ```
    pub fn reset(&self) {
        self.shared.circuit.reset();
    }

    /// Whether calls go through the circuit (`true`) or straight to the dependency.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::Breaker;
    /// let breaker = Breaker::new("dev_api", Duration::from_secs(60));
    /// assert!(breaker.is_enabled());
    /// breaker.set_enabled(false);
    /// assert!(!breaker.is_enabled());
    /// ```
    pub fn is_enabled(&self) -> bool {
        self.shared.enabled.load(Relaxed)
    }

    /// Switches the breaker on or off at run time. A disabled breaker runs every call and
    /// records nothing; the circuit keeps its state for when it is enabled again.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::Breaker;
    ///
    /// let breaker = Breaker::new("dev_api", Duration::from_secs(60));
    /// breaker.force_open(Duration::from_secs(60));
    /// breaker.set_enabled(false);
    /// assert_eq!(breaker.call(|| Ok::<_, ()>(7)).unwrap(), 7);
    /// ```
    pub fn set_enabled(&self, enabled: bool) {
        self.shared.enabled.store(enabled, Relaxed);
    }
}

/// The number that names probe `id` of half-open period `generation` to the store.
fn probe_number(generation: u32, id: u32) -> u64 {
    u64::from(generation) << 32 | u64::from(id)
}

impl Drop for Shared {
    fn drop(&mut self) {
        if let Some(store) = &self.store {
            store.released(&self.circuit);
        }
    }
}

impl fmt::Debug for Breaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Breaker")
            .field("name", &self.shared.name)
            .field("state", &self.state())
            .field("enabled", &self.is_enabled())
            .finish_non_exhaustive()
    }
}
