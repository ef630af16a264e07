//! The link between a circuit in this process and its record in Redis: what this process last
//! knew of the record, the local change waiting to be pushed, and the probe tokens it holds.
//!
//! Breakers touch a link only in ways that never wait on the network: a transition leaves a
//! change for the background to push, and a probe takes a token the background claimed ahead
//! of time. The background thread does the rest.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering::AcqRel, Ordering::Release};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use super::keys::Keys;
use super::scripts::{Change, FleetPhase, Record, Version};
use crate::event::{Listener, Reason, Transition};
use crate::state::{Phase, State};
use crate::store::{Circuit, ProbeClaim};

/// How long a claimed probe token waits, unused, for a call of this process before it is
/// given back to the fleet.
pub(super) const LEASE: Duration = Duration::from_secs(1);

/// Links waiting for the background thread, each queued at most once.
#[derive(Debug, Default)]
pub(super) struct WorkQueue {
    links: Mutex<VecDeque<Weak<Link>>>,
    /// Wakes the background thread: for queued links, and to shut down.
    pub(super) wake: tokio::sync::Notify,
}

impl WorkQueue {
    fn push(&self, link: &Link) {
        if !link.queued.swap(true, AcqRel) {
            lock(&self.links).push_back(link.me.clone());
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
    pub(super) keys: Keys,
    pub(super) circuit: Weak<Circuit>,
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
    pub(super) change: Option<Change>,
    /// Whether the record should be read.
    pub(super) read: bool,
    pub(super) tokens: Tokens,
}

/// The probe tokens this process holds for the circuit.
#[derive(Debug, Default)]
pub(super) struct Tokens {
    /// Claimed and waiting for a probe, until their lease ends.
    free: Vec<Token>,
    /// Backing a probe now.
    busy: Vec<Token>,
    /// Tokens to give back.
    pub(super) to_release: Vec<String>,
    /// A call wanted a probe and found no token: what it asked for.
    pub(super) wanted: Option<ProbeClaim>,
    /// No claim before this: the fleet's tokens are taken, or its open period has not ended.
    pub(super) not_before: Option<Instant>,
    /// Tokens claimed so far, to name the next one.
    claimed: u64,
}

#[derive(Debug, Clone)]
struct Token {
    holder: String,
    /// When Redis lets the token go.
    expires: Instant,
    /// When a free token is given back unused.
    lease: Instant,
}

/// What the local circuit must do to follow the fleet's record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Follow {
    Nothing,
    Open(Duration),
    HalfOpen,
    Close,
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

/// Two open periods whose ends are closer than this are the same period heard twice.
const SAME_END: Duration = Duration::from_millis(100);

impl Link {
    pub(super) fn new(keys: Keys, circuit: &Arc<Circuit>, work: Arc<WorkQueue>) -> Arc<Link> {
        Arc::new_cyclic(|me| Link {
            keys,
            circuit: Arc::downgrade(circuit),
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

    /// Takes a claimed token for a probe, if one is free: never waits. Without one, asks the
    /// background thread to claim one, and refuses this probe.
    pub(super) fn take_token(&self, claim: ProbeClaim) -> bool {
        let now = Instant::now();
        let mut state = self.state();
        let tokens = &mut state.tokens;
        // A token that Redis lets go before this probe's permit would end is not used.
        while let Some(token) = tokens.free.pop() {
            if token.expires >= now + claim.ttl / 2 {
                tokens.busy.push(token);
                return true;
            }
            tokens.to_release.push(token.holder);
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

    /// A probe backed by a token ended: the token waits for the next probe of this process.
    pub(super) fn token_back(&self) {
        let mut state = self.state();
        if let Some(mut token) = state.tokens.busy.pop() {
            token.lease = Instant::now() + LEASE;
            state.tokens.free.push(token);
        }
    }

    /// Follows the record `record` (or its absence), answered by Redis or published by the
    /// store `writer`; `mine` is this store's id. Returns what the local circuit must do.
    pub(super) fn follow(&self, record: Option<Record>, mine: u64, local: &State) -> Follow {
        let mut state = self.state();
        let Some(record) = record else {
            // Redis knows nothing of a circuit this process knew of: it lost its data. An open
            // circuit here is pushed again, so that the fleet converges on it.
            if state.known.is_some() && state.change.is_none() && local.is_open() {
                state.change = Some(Change::Trip);
                drop(state);
                self.queue();
            }
            return Follow::Nothing;
        };
        if state.known.is_some_and(|known| known >= record.version) {
            return Follow::Nothing;
        }
        state.known = Some(record.version);
        if record.by == mine {
            return Follow::Nothing; // this store's own change: the circuit made it
        }
        // Another process changed the circuit after whatever this one has to push.
        state.change = None;
        state.tokens.drop_all();
        match (record.phase, local) {
            (FleetPhase::Open(left), State::Open { retry_in }) => {
                if left.abs_diff(*retry_in) > SAME_END {
                    Follow::Open(left)
                } else {
                    Follow::Nothing
                }
            }
            (FleetPhase::Open(left), _) => Follow::Open(left),
            (FleetPhase::HalfOpen, State::HalfOpen) => Follow::Nothing,
            (FleetPhase::HalfOpen, _) => Follow::HalfOpen,
            (FleetPhase::Closed, State::Closed) => Follow::Nothing,
            (FleetPhase::Closed, _) => Follow::Close,
        }
    }

    /// Whether a token should be claimed now, and for what; or when to ask again.
    pub(super) fn claim_due(&self, now: Instant) -> ClaimDue {
        let mut state = self.state();
        let known = state.known;
        let tokens = &mut state.tokens;
        if !tokens.free.is_empty() {
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

    /// Names the next token this store claims for the circuit.
    pub(super) fn next_holder(&self, writer: u64) -> String {
        let mut state = self.state();
        state.tokens.claimed += 1;
        format!("{writer:x}.{}", state.tokens.claimed)
    }

    /// A token was claimed for `claim`: it waits for the call that asked for it.
    pub(super) fn claimed(&self, holder: String, claim: ProbeClaim, claimed_at: Instant) {
        let mut state = self.state();
        state.tokens.free.push(Token {
            holder,
            expires: claimed_at + claim.ttl,
            lease: Instant::now() + LEASE,
        });
    }

    /// Moves free tokens whose lease ended, and busy tokens Redis has let go, out.
    pub(super) fn expire_tokens(&self, now: Instant) {
        let mut state = self.state();
        let tokens = &mut state.tokens;
        let (ended, kept): (Vec<_>, Vec<_>) = tokens.free.drain(..).partition(|t| t.lease <= now);
        tokens.free = kept;
        tokens
            .to_release
            .extend(ended.into_iter().map(|t| t.holder));
        tokens.busy.retain(|t| t.expires > now);
    }
}

impl Tokens {
    /// Forgets every token: the fleet's circuit moved on, and Redis dropped them with it.
    fn drop_all(&mut self) {
        self.free.clear();
        self.busy.clear();
        self.to_release.clear();
        self.not_before = None;
    }
}

impl Listener for Link {
    /// Leaves this process's transitions for the background thread to push, the latest
    /// replacing any not yet pushed. Transitions that came from the fleet are not echoed, and
    /// the end of an open period is not pushed: every process sees it in the record's PTTL.
    fn on_transition(&self, transition: &Transition) {
        let change = match (transition.to, transition.reason) {
            (_, Reason::Remote) | (Phase::HalfOpen, _) => return,
            (Phase::Open, Reason::ProbeFailed) => Change::Reopen,
            (Phase::Open, Reason::Forced) => Change::Force,
            (Phase::Open, _) => Change::Trip,
            (Phase::Closed, Reason::Reset) => Change::Reset,
            (Phase::Closed, _) => Change::Close,
        };
        let mut state = self.state();
        state.change = Some(change);
        state.tokens.drop_all();
        drop(state);
        self.queue();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}
