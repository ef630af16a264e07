//! The link between a circuit in this process and its record in Redis: what this process last
//! knew of the record, the local change waiting to be pushed, and the probe tokens it holds.
//!
//! Breakers touch a link only in ways that never wait on the network: a transition leaves a
//! change for the background to push, and a probe takes a token the background claimed ahead
//! of time. The background thread does the rest.

use std::collections::VecDeque;
use std::sync::atomic::Ordering::{AcqRel, Relaxed, Release};
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use super::keys::Keys;
use super::scripts::{Change, FleetPhase, Record, Version, millis};
use crate::circuit::RemotePhase;
use crate::event::{Listener, Reason, Transition};
use crate::name::Name;
use crate::state::{Phase, State};
use crate::store::{Circuit, ProbeClaim};

/// Links waiting for the background thread, each queued at most once.
#[derive(Debug, Default)]
pub(super) struct WorkQueue {
    links: Mutex<VecDeque<Weak<Link>>>,
    /// How many were kept the last time the queue let go of links that are gone.
    kept: AtomicUsize,
    /// Wakes the background thread: for queued links, and to shut down.
    pub(super) wake: tokio::sync::Notify,
}

impl WorkQueue {
    fn push(&self, link: &Link) {
        if !link.queued.swap(true, AcqRel) {
            let mut links = lock(&self.links);
            // While Redis is away nothing takes from the queue: links of circuits that are
            // gone are let go whenever the queue doubles.
            if links.len() >= 2 * self.kept.load(Relaxed).max(64) {
                links.retain(|l| l.strong_count() > 0);
                self.kept.store(links.len(), Relaxed);
            }
            links.push_back(link.me.clone());
            drop(links);
            self.wake.notify_one();
        }
    }

    /// Takes every queued link that still exists.
    pub(super) fn take(&self) -> Vec<Arc<Link>> {
        let links: Vec<_> = lock(&self.links).drain(..).collect();
        links
            .into_iter()
            .filter_map(|link| link.upgrade())
            .inspect(|link| link.queued.store(false, Release))
            .collect()
    }
}

/// One circuit's link to Redis.
#[derive(Debug)]
pub(super) struct Link {
    pub(super) name: Name,
    pub(super) keys: Keys,
    pub(super) circuit: Weak<Circuit>,
    /// The id written into the records this link changes and the tokens it claims.
    pub(super) writer: u64,
    me: Weak<Link>,
    work: Arc<WorkQueue>,
    state: Mutex<LinkState>,
    queued: AtomicBool,
}

/// What a link knows and has to do.
#[derive(Debug, Default)]
pub(super) struct LinkState {
    /// The version of the latest record seen.
    pub(super) known: Option<Version>,
    /// The latest local change not yet pushed.
    pub(super) change: Option<Pending>,
    /// The phase of the latest record seen (closed if Redis answered it has none), and when
    /// it was seen.
    fleet: Option<(FleetPhase, Instant)>,
    /// Whether the record should be read.
    pub(super) read: bool,
    /// Changes numbered so far.
    changes: u64,
    pub(super) tokens: Tokens,
}

/// A local change waiting to be pushed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Pending {
    pub(super) change: Change,
    /// The version of the record the change was made after.
    pub(super) base: Option<Version>,
    /// For an opening, when the open period ends: what is pushed once the circuit is gone
    /// (its last breaker dropped right after a change).
    pub(super) until: Option<Instant>,
    /// When the change was made.
    pub(super) made: Instant,
    /// The change's number among this link's changes: written into the record with it, so
    /// that a change pushed again after its answer was lost is not made twice.
    pub(super) seq: u64,
}

/// The probe tokens this process holds for the circuit.
#[derive(Debug, Default)]
pub(super) struct Tokens {
    /// Claimed and waiting for a probe of this process.
    free: Vec<Token>,
    /// Backing a probe now: the probe's number, and the token.
    busy: Vec<(u64, Token)>,
    /// Tokens to give back.
    pub(super) to_release: Vec<String>,
    /// Tokens backing a probe whose time in Redis is to be renewed.
    to_renew: Vec<(String, ProbeClaim)>,
    /// A call wanted a probe and found no token: what it asked for.
    wanted: Option<ProbeClaim>,
    /// No claim before this: the fleet's tokens are taken, or its open period has not ended.
    not_before: Option<Instant>,
    /// Tokens claimed so far, to name the next one.
    claimed: u64,
}

#[derive(Debug, Clone)]
struct Token {
    holder: String,
    /// When Redis lets the token go.
    expires: Instant,
    /// What it was claimed for.
    claim: ProbeClaim,
    /// Since when it has waited unused.
    idle_since: Instant,
}

impl Token {
    /// How long Redis keeps the token: the probe timeout, at most ten years.
    fn ttl(&self) -> Duration {
        Duration::from_millis(millis(self.claim.ttl))
    }
}

/// A token a call claimed waits at least this long for that process's next call before it
/// goes to another process that asks: two processes asking in turn would otherwise pass a
/// token back and forth with neither probing.
const HOLD: Duration = Duration::from_secs(1);

/// Where a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    /// A script's answer: the record as it stands in Redis now, even if older than one seen
    /// before (Redis restored from a snapshot, or failed over to a replica behind).
    Answer,
    /// A message published by a script: news only if newer than what is known, as messages
    /// can arrive after the answers that followed them.
    Message,
}

/// Whether the background should claim a probe token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ClaimDue {
    Nothing,
    /// Not before this.
    Later(Instant),
    /// Now, for this probe, in the half-open period of this version.
    Now(ProbeClaim, Option<Version>),
}

/// The furthest end of an open period this process notes on its wall clock: a century.
const MAX_WALL: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// Two open periods whose ends are closer than this are the same period heard twice; a record
/// with less than this left is as good as half-open.
const SAME_END: Duration = Duration::from_millis(100);

impl Link {
    pub(super) fn new(
        name: Name,
        keys: Keys,
        circuit: &Arc<Circuit>,
        work: Arc<WorkQueue>,
    ) -> Arc<Link> {
        Arc::new_cyclic(|me| Link {
            name,
            keys,
            circuit: Arc::downgrade(circuit),
            writer: fastrand::u64(1..),
            me: me.clone(),
            work,
            state: Mutex::new(LinkState {
                read: true,
                ..LinkState::default()
            }),
            queued: AtomicBool::new(false),
        })
    }

    pub(super) fn state(&self) -> MutexGuard<'_, LinkState> {
        lock(&self.state)
    }

    /// Queues the link for the background thread.
    pub(super) fn queue(&self) {
        self.work.push(self);
    }

    /// Takes a claimed token for probe `claim.probe`, if one is free: never waits. Without
    /// one, asks the background thread to claim one, and refuses this probe.
    pub(super) fn take_token(&self, claim: ProbeClaim) -> bool {
        let now = Instant::now();
        let mut state = self.state();
        let tokens = &mut state.tokens;
        while let Some(token) = tokens.free.pop() {
            if token.expires <= now {
                continue; // Redis has let it go
            }
            // Renewed for the probe timeout from now: the probe may hold its permit that long.
            tokens.to_renew.push((token.holder.clone(), token.claim));
            tokens.busy.push((claim.probe, token));
            drop(state);
            self.queue();
            return true;
        }
        // Ask for a claim, unless the background knows it must wait and will retry by itself.
        let due = tokens.not_before.is_none_or(|at| at <= now);
        tokens.wanted = Some(claim);
        drop(state);
        if due {
            self.queue();
        }
        false
    }

    /// Takes the tokens whose time in Redis is to be renewed.
    pub(super) fn take_renewals(&self) -> Vec<(String, ProbeClaim)> {
        std::mem::take(&mut self.state().tokens.to_renew)
    }

    /// A renewal of token `holder` failed: it is tried again.
    pub(super) fn renew_later(&self, holder: String, claim: ProbeClaim) {
        self.state().tokens.to_renew.push((holder, claim));
    }

    /// Token `holder` was renewed at `at`: Redis keeps it for its probe timeout from then.
    pub(super) fn renewed(&self, holder: &str, at: Instant) {
        let mut state = self.state();
        let tokens = &mut state.tokens;
        let busy = tokens.busy.iter_mut().map(|(_, t)| t);
        for token in busy.chain(tokens.free.iter_mut()) {
            if token.holder == holder {
                token.expires = later(at, token.ttl());
            }
        }
    }

    /// Probe `probe` ended: its token waits for the next probe of this process.
    pub(super) fn token_back(&self, probe: u64) {
        let mut state = self.state();
        let tokens = &mut state.tokens;
        if let Some(at) = tokens.busy.iter().position(|(p, _)| *p == probe) {
            let (_, mut token) = tokens.busy.swap_remove(at);
            token.idle_since = Instant::now();
            tokens.free.push(token);
        }
    }

    /// Another process wants a probe token: the ones that have waited here unused for a
    /// while go back to the fleet.
    pub(super) fn give_up_free_tokens(&self) {
        let now = Instant::now();
        let mut state = self.state();
        let tokens = &mut state.tokens;
        let idle = |t: &Token| now.saturating_duration_since(t.idle_since) >= HOLD;
        if !tokens.free.iter().any(idle) {
            return;
        }
        let (given, kept): (Vec<_>, Vec<_>) = tokens.free.drain(..).partition(idle);
        tokens.free = kept;
        tokens
            .to_release
            .extend(given.into_iter().map(|t| t.holder));
        drop(state);
        self.queue();
    }

    /// A token was given back somewhere: a probe waiting here may claim it now.
    pub(super) fn token_freed(&self) {
        let mut state = self.state();
        state.tokens.not_before = None;
        let wanted = state.tokens.wanted.is_some();
        drop(state);
        if wanted {
            self.queue();
        }
    }

    /// Follows `record` (or its absence), from `source`: returns what the local circuit must
    /// do to match it, and the number of its transitions that decision assumed.
    ///
    /// A circuit that has news of its own (a change not yet pushed) is left alone: its change
    /// is pushed, guarded by the version it was made after, and the answer brings the two
    /// together.
    pub(super) fn follow(
        &self,
        record: Option<Record>,
        source: Source,
        circuit: &Circuit,
    ) -> Option<(RemotePhase, u64)> {
        let transitions = circuit.transitions();
        let local = circuit.peek();
        let mut state = self.state();
        let quiet = state.change.is_none();
        let Some(record) = record else {
            if source == Source::Answer {
                state.fleet = Some((FleetPhase::Closed, Instant::now()));
            }
            // Redis knows nothing of a circuit this process knew of: it lost its data. An open
            // circuit here is pushed again, so that the fleet converges on it.
            if let (Source::Answer, Some(_), true, State::Open { retry_in }) =
                (source, state.known, quiet, local)
            {
                state.change = Some(Pending {
                    change: Change::Trip,
                    base: None,
                    until: Some(later(Instant::now(), retry_in)),
                    made: Instant::now(),
                    seq: state.next_seq(),
                });
                drop(state);
                self.queue();
            }
            return None;
        };
        let newer = state.known.is_none_or(|known| record.version > known);
        if source == Source::Message && !newer {
            return None;
        }
        state.fleet = Some((record.phase, Instant::now()));
        let news = state.known != Some(record.version);
        if news {
            state.known = Some(record.version);
            state.tokens.drop_all(); // Redis dropped them with the record's last change
        }
        if !quiet {
            return None;
        }
        let phase = match (record.phase, local) {
            (FleetPhase::Open(left), State::Open { retry_in }) => {
                (left.abs_diff(retry_in) > SAME_END).then_some(RemotePhase::Open(left))
            }
            // The end of a period already followed, a moment later in Redis than here.
            (FleetPhase::Open(left), State::HalfOpen) if !news && left < SAME_END => None,
            (FleetPhase::Open(left), _) => Some(RemotePhase::Open(left)),
            (FleetPhase::HalfOpen, State::HalfOpen) => None,
            (FleetPhase::HalfOpen, _) => Some(RemotePhase::HalfOpen),
            (FleetPhase::Closed, State::Closed) => None,
            (FleetPhase::Closed, _) => Some(RemotePhase::Closed),
        };
        phase.map(|phase| (phase, transitions))
    }

    /// Whether the fleet's circuit is known to be closed (or to have no record).
    pub(super) fn fleet_closed(&self) -> bool {
        matches!(self.state().fleet, Some((FleetPhase::Closed, _)))
    }

    /// Whether this link holds nothing worth keeping once its circuit is gone: no change to
    /// push (or one older than `keep`), no token to give back.
    pub(super) fn spent(&self, keep: Duration) -> bool {
        let state = self.state();
        let stale = state.change.is_none_or(|p| p.made.elapsed() > keep);
        stale && state.tokens.to_release.is_empty() && state.tokens.free.is_empty()
    }

    /// Takes the change to push.
    pub(super) fn take_change(&self) -> Option<Pending> {
        self.state().change.take()
    }

    /// A push of `pending` failed: it is pushed again, unless a newer change replaced it.
    pub(super) fn change_again(&self, pending: Pending) {
        self.state().change.get_or_insert(pending);
    }

    /// This link's change made `record`: a change made since, after the version the pushed
    /// one was made after, now follows `record`.
    pub(super) fn pushed(&self, made_after: Option<Version>, record: &Record) {
        let mut state = self.state();
        if let Some(pending) = &mut state.change {
            if pending.base == made_after {
                pending.base = Some(record.version);
            }
        }
    }

    /// Takes over what `old`, the link of a circuit of the same name that is gone, had yet to
    /// do, and what it knew; returns where `circuit`, new and closed, must go to start where
    /// the fleet was as far as `old` knew, and the transitions that assumes.
    pub(super) fn inherit(&self, old: &Link, circuit: &Circuit) -> Option<(RemotePhase, u64)> {
        let mut old = old.state();
        let mut state = self.state();
        state.known = old.known;
        state.fleet = old.fleet;
        state.change = old.change.take();
        let old_tokens = &mut old.tokens;
        let unused = old_tokens.free.drain(..).map(|t| t.holder);
        let held: Vec<_> = old_tokens.to_release.drain(..).chain(unused).collect();
        state.tokens.to_release.extend(held);
        if state.change.is_some() {
            return None; // its change is pushed first, and the answer brings the circuit along
        }
        let seen = circuit.transitions();
        let (phase, seen_at) = state.fleet?;
        let elapsed = seen_at.elapsed();
        match phase {
            FleetPhase::Open(left) if left > elapsed => {
                Some((RemotePhase::Open(left - elapsed), seen))
            }
            FleetPhase::Open(_) | FleetPhase::HalfOpen => Some((RemotePhase::HalfOpen, seen)),
            FleetPhase::Closed => None,
        }
    }

    /// When the change waiting to be pushed was made, if there is one.
    pub(super) fn change_made(&self) -> Option<Instant> {
        self.state().change.map(|p| p.made)
    }

    /// Whether a token should be claimed now, and for what; or when to ask again.
    pub(super) fn claim_due(&self, now: Instant) -> ClaimDue {
        let mut state = self.state();
        let known = state.known;
        let tokens = &mut state.tokens;
        if tokens.free.iter().any(|t| t.expires > now) {
            tokens.wanted = None; // a token already waits for the call that wants it
            return ClaimDue::Nothing;
        }
        match (tokens.wanted, tokens.not_before) {
            (None, _) => ClaimDue::Nothing,
            (Some(_), Some(at)) if at > now => ClaimDue::Later(at),
            (Some(claim), _) => {
                tokens.wanted = None;
                ClaimDue::Now(claim, known)
            }
        }
    }

    /// A claim for `claim` could not be made: try again at `at`, or sooner if the fleet
    /// announces a token given back.
    pub(super) fn claim_later(&self, claim: ProbeClaim, at: Instant) {
        let mut state = self.state();
        state.tokens.wanted.get_or_insert(claim);
        state.tokens.not_before = Some(at);
    }

    /// Names the next token this link claims.
    pub(super) fn next_holder(&self) -> String {
        let mut state = self.state();
        state.tokens.claimed += 1;
        format!("{:x}.{}", self.writer, state.tokens.claimed)
    }

    /// Token `holder` was claimed at `claimed_at` for `claim`: it waits for the call that
    /// asked for it.
    pub(super) fn claimed(&self, holder: String, claim: ProbeClaim, claimed_at: Instant) {
        let token = Token {
            holder,
            expires: claimed_at,
            claim,
            idle_since: Instant::now(),
        };
        let expires = later(claimed_at, token.ttl());
        self.state().tokens.free.push(Token { expires, ..token });
    }

    /// Token `holder` may be held in Redis although the claim did not say so (its answer was
    /// lost): it is given back.
    pub(super) fn release_later(&self, holders: impl IntoIterator<Item = String>) {
        self.state().tokens.to_release.extend(holders);
    }

    /// Takes the tokens to give back.
    pub(super) fn take_releases(&self) -> Vec<String> {
        std::mem::take(&mut self.state().tokens.to_release)
    }

    /// Forgets the tokens Redis has let go.
    pub(super) fn expire_tokens(&self, now: Instant) {
        let mut state = self.state();
        let tokens = &mut state.tokens;
        tokens.free.retain(|t| t.expires > now);
        tokens.busy.retain(|(_, t)| t.expires > now);
    }
}

impl LinkState {
    /// Numbers the next change.
    fn next_seq(&mut self) -> u64 {
        self.changes += 1;
        self.changes
    }
}

impl Tokens {
    /// Forgets every token: the fleet's circuit moved on, and Redis dropped them with it (or
    /// will, with the change this process is about to push). Those queued to be given back
    /// still are: giving back a token that is gone does nothing.
    fn drop_all(&mut self) {
        self.free.clear();
        self.busy.clear();
        self.to_renew.clear();
        self.not_before = None;
    }
}

impl Listener for Link {
    /// Called as each transition is made (the link watches its circuit): leaves this
    /// process's transitions for the background thread to push, the latest replacing any not
    /// yet pushed. Transitions that came from the fleet are not echoed, and
    /// the end of an open period is not pushed: every process sees it in the record's PTTL.
    fn on_transition(&self, transition: &Transition) {
        let mut state = self.state();
        let change = match (transition.to, transition.reason) {
            (_, Reason::Remote) | (Phase::HalfOpen, _) => return,
            (Phase::Open, Reason::ProbeFailed) => Change::Reopen,
            (Phase::Open, Reason::Forced) => Change::Force,
            // A trip after a close still waiting to be pushed: the fleet may still be open
            // from before the close, and a trip only opens a closed circuit.
            (Phase::Open, _) => match state.change.map(|p| p.change) {
                Some(Change::Reset | Change::Close) => Change::Force,
                _ => Change::Trip,
            },
            (Phase::Closed, Reason::Reset) => Change::Reset,
            (Phase::Closed, _) => Change::Close,
        };
        let base = match state.change {
            // Replacing a change not pushed yet: the new one follows what that one did.
            Some(pending) => pending.base,
            None => state.known,
        };
        let until = transition
            .open_for
            .map(|open_for| later(Instant::now(), open_for));
        state.change = Some(Pending {
            change,
            base,
            until,
            made: Instant::now(),
            seq: state.next_seq(),
        });
        state.tokens.drop_all();
        drop(state);
        self.queue();
    }
}

/// `after` from `at`, or a century from `at` if that is further than the clock can count.
pub(super) fn later(at: Instant, after: Duration) -> Instant {
    at.checked_add(after.min(MAX_WALL)).unwrap_or(at)
}

/// Locks `mutex`, carrying on through poisoning: no critical section of the store leaves its
/// data half changed.
pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}
