//! The store's background thread, `failfast-redis`: the only place that talks to Redis.
//!
//! It connects (again and again, with a capped backoff, while Redis is away), subscribes to the
//! events channel, and then serves: it pushes local changes, reads records for new circuits,
//! claims and gives back probe tokens, follows the changes other processes publish, and every
//! `reconcile_every` reads every record again, the safety net under pub/sub. After each
//! (re)connection it pushes what changed here meanwhile and reads everything.
//!
//! Every await on Redis is bounded by the store timeout. A late answer or a failed connection
//! ends the connection, and the circuits go on locally until a new one is made; an error
//! answer (out of memory, say) fails only its operation, which is tried again later.

use std::collections::HashMap;
use std::io;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering::Acquire, Ordering::Release};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::join_all;
use redis::{PushInfo, PushKind, Value};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tokio::time::{Instant, sleep_until, timeout};

use super::connection::Connection;
use super::keys::decode;
use super::link::{ClaimDue, Link, Source, WorkQueue, later, lock};
use super::scripts::{Answer, Call, Change, FleetPhase, Record, Scripts};
use super::url::Target;
use crate::name::Name;
use crate::state::State;

/// The first pause before connecting again; it doubles up to [`MAX_PAUSE`].
const MIN_PAUSE: Duration = Duration::from_millis(25);
/// The longest pause between two attempts to connect, so that a returning Redis is used again
/// within about this long.
const MAX_PAUSE: Duration = Duration::from_millis(400);
/// The longest wait before a claim is tried again while the fleet's tokens are taken: a token
/// given back is announced, and this bounds the wait for an announcement that was missed.
const CLAIM_RETRY: Duration = Duration::from_secs(1);
/// Links served at once.
const BATCH: usize = 64;

/// The store's settings.
#[derive(Debug, Clone)]
pub(super) struct Settings {
    pub(super) prefix: String,
    pub(super) timeout: Duration,
    pub(super) reconcile_every: Duration,
    pub(super) keep: Duration,
    pub(super) cluster: bool,
}

/// What the store's handles and its thread share.
#[derive(Debug)]
pub(super) struct Shared {
    pub(super) target: Target,
    pub(super) settings: Settings,
    pub(super) channel: String,
    pub(super) links: Mutex<HashMap<Name, Arc<Link>>>,
    pub(super) work: Arc<WorkQueue>,
    pub(super) connected: AtomicBool,
    /// Taken to change `connected`, so that a thread waiting for it misses no change.
    connected_lock: Mutex<()>,
    connected_changed: Condvar,
    pub(super) shutdown: AtomicBool,
    scripts: Scripts,
    /// When an error answer from Redis was last logged.
    last_refusal: Mutex<Option<Instant>>,
}

impl Shared {
    pub(super) fn new(target: Target, settings: Settings) -> Shared {
        // Pub/sub knows no databases: the channel names the database the records are in.
        let db = target.info.redis_settings().db();
        let channel = format!("{}db{db}:events", settings.prefix);
        Shared {
            target,
            settings,
            channel,
            links: Mutex::default(),
            work: Arc::default(),
            connected: AtomicBool::new(false),
            connected_lock: Mutex::new(()),
            connected_changed: Condvar::new(),
            shutdown: AtomicBool::new(false),
            scripts: Scripts::new(),
            last_refusal: Mutex::new(None),
        }
    }

    pub(super) fn links(&self) -> MutexGuard<'_, HashMap<Name, Arc<Link>>> {
        lock(&self.links)
    }

    fn link(&self, name: &str) -> Option<Arc<Link>> {
        self.links().get(name).cloned()
    }

    /// The link that now has `link`'s name: `link` itself, or the link of a circuit made again
    /// since.
    fn current(&self, link: &Arc<Link>) -> Arc<Link> {
        self.link(&link.name).unwrap_or_else(|| link.clone())
    }

    fn set_connected(&self, connected: bool) {
        let _guard = lock(&self.connected_lock);
        self.connected.store(connected, Release);
        self.connected_changed.notify_all();
    }

    /// Waits until the store is connected, for at most `timeout`: returns whether it is.
    pub(super) fn wait_connected(&self, timeout: Duration) -> bool {
        let deadline = later(std::time::Instant::now(), timeout);
        let mut guard = lock(&self.connected_lock);
        while !self.connected.load(Acquire) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return false;
            }
            guard = match self.connected_changed.wait_timeout(guard, left) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        true
    }

    fn shut_down(&self) -> bool {
        self.shutdown.load(Acquire)
    }
}

/// Starts the `failfast-redis` thread, which runs a runtime of its own: the store works the same
/// whether or not the program runs Tokio, and never runs on the program's runtime. Should the
/// store's loop panic (it runs no user code; this is a safety net), it starts again.
pub(super) fn start(shared: Arc<Shared>) -> io::Result<()> {
    std::thread::Builder::new()
        .name("failfast-redis".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => {
                    let url = &shared.target;
                    tracing::error!(%url, error = %e, "failfast: cannot start the Redis store's runtime; circuits stay local");
                    return;
                }
            };
            loop {
                let served = runtime.block_on(AssertUnwindSafe(run(shared.clone())).catch_unwind());
                shared.set_connected(false);
                if served.is_ok() || shared.shut_down() {
                    return;
                }
                let url = &shared.target;
                tracing::error!(%url, "failfast: the Redis store's thread panicked; it starts again");
            }
        })?;
    Ok(())
}

/// Why a connection ended.
#[derive(Debug)]
enum Failure {
    Error(redis::RedisError),
    /// Redis answered with an error: this one operation failed, the connection is fine.
    Refused(redis::RedisError),
    TimedOut(Duration),
    Closed,
    Shutdown,
}

impl Failure {
    /// What to fix, if the failure is Redis refusing the store's settings rather than Redis
    /// being away.
    fn misconfiguration(&self, cluster: bool) -> Option<&'static str> {
        let (Failure::Error(e) | Failure::Refused(e)) = self else {
            return None;
        };
        use redis::ErrorKind::{AuthenticationFailed, Server};
        use redis::ServerErrorKind::{Ask, Moved};
        match (e.kind(), e.code()) {
            (Server(Moved | Ask), _) if !cluster => Some(
                "it is a node of a Redis Cluster: build the store with `RedisStoreBuilder::cluster`",
            ),
            (AuthenticationFailed, _) | (_, Some("NOAUTH" | "WRONGPASS" | "NOPERM")) => {
                Some("check the user and password of its URL")
            }
            _ if e.to_string().contains("DB index") => Some("check the database of its URL"),
            _ => None,
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Error(e) | Failure::Refused(e) => write!(f, "{e}"),
            Failure::TimedOut(timeout) => write!(
                f,
                "no answer within the store timeout ({timeout:?}, RedisStoreBuilder::timeout)"
            ),
            Failure::Closed => f.write_str("the connection was closed"),
            Failure::Shutdown => f.write_str("the store was dropped"),
        }
    }
}

/// Awaits `op` for at most the store timeout.
async fn bounded<T>(
    shared: &Shared,
    op: impl Future<Output = redis::RedisResult<T>>,
) -> Result<T, Failure> {
    match timeout(shared.settings.timeout, op).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) if refusal(&e) => Err(Failure::Refused(e)),
        Ok(Err(e)) => Err(Failure::Error(e)),
        Err(_) => Err(Failure::TimedOut(shared.settings.timeout)),
    }
}

/// Whether `error` is an error answer from Redis (out of memory, a script refused, ...), which
/// fails one operation and leaves the connection usable.
fn refusal(error: &redis::RedisError) -> bool {
    use redis::ServerErrorKind::{Ask, MasterDown, Moved, ReadOnly};
    // A redirect, or a primary demoted to replica: the connection is to the wrong server.
    let elsewhere = matches!(
        error.kind(),
        redis::ErrorKind::Server(Moved | Ask | ReadOnly | MasterDown)
    );
    !elsewhere
        && matches!(
            error.kind(),
            redis::ErrorKind::Server(_)
                | redis::ErrorKind::Extension
                | redis::ErrorKind::UnexpectedReturnType
        )
        && !(error.is_io_error()
            || error.is_connection_dropped()
            || error.is_timeout()
            || error.is_unrecoverable_error())
}

/// An outage that begins within this long of the end of the last one is logged quietly: one
/// warning for a Redis that keeps coming and going, not a pair a minute.
const FLAPPING: Duration = Duration::from_secs(60);
/// A quiet outage (see [`FLAPPING`]) that lasts this long is warned of all the same.
const ESCALATE: Duration = Duration::from_secs(10);
/// The pause between attempts to connect to a Redis that refuses the store (a wrong password,
/// a database out of range): retried, in case it is fixed, but not hammered.
const MISCONFIGURED_PAUSE: Duration = Duration::from_secs(5);

/// Logs the start and the end of an outage, once each.
struct Outage {
    since: Option<Instant>,
    /// Whether this outage was logged as a warning or an error: its end is logged too.
    loud: bool,
    /// When the last outage ended.
    last_end: Option<Instant>,
    connected_once: bool,
}

impl Outage {
    fn begin(&mut self, shared: &Shared, failure: &Failure) {
        if self.since.is_some() {
            return;
        }
        self.since = Some(Instant::now());
        let url = &shared.target;
        let flapping = self.last_end.is_some_and(|end| end.elapsed() < FLAPPING);
        self.loud = true;
        if let Some(hint) = failure.misconfiguration(shared.settings.cluster) {
            tracing::error!(%url, error = %failure, "failfast: Redis refuses the store: {hint}; circuits work locally meanwhile");
        } else if flapping {
            self.loud = false;
            tracing::debug!(%url, error = %failure, "failfast: lost Redis again; circuits go on locally until it is back");
        } else if self.connected_once {
            tracing::warn!(%url, error = %failure, "failfast: lost Redis; circuits go on locally until it is back");
        } else {
            tracing::warn!(%url, error = %failure, "failfast: cannot reach Redis; circuits work locally until it answers");
        }
    }

    fn end(&mut self, shared: &Shared) {
        let url = &shared.target;
        match self.since.take() {
            Some(since) if !self.loud => {
                tracing::debug!(%url, after = ?since.elapsed(), "failfast: Redis is back")
            }
            Some(since) if self.connected_once => {
                tracing::info!(%url, after = ?since.elapsed(), "failfast: Redis is back; circuits are shared again")
            }
            Some(since) => {
                tracing::info!(%url, after = ?since.elapsed(), "failfast: connected to Redis; circuits are shared")
            }
            None if !self.connected_once => {
                tracing::info!(%url, "failfast: connected to Redis; circuits are shared")
            }
            None => {}
        }
        if self.connected_once {
            self.last_end = Some(Instant::now()); // the end of an outage, not the first connection
        }
        self.connected_once = true;
    }

    /// An outage logged quietly (Redis came and went before) that has lasted long is warned
    /// of after all.
    fn still(&mut self, shared: &Shared) {
        let Some(since) = self.since else { return };
        if !self.loud && since.elapsed() >= ESCALATE {
            self.loud = true;
            let url = &shared.target;
            tracing::warn!(%url, after = ?since.elapsed(), "failfast: lost Redis; circuits go on locally until it is back");
        }
    }
}

async fn run(shared: Arc<Shared>) {
    let mut outage = Outage {
        since: None,
        loud: false,
        last_end: None,
        connected_once: false,
    };
    let mut pause = MIN_PAUSE;
    while !shared.shut_down() {
        let (pushes_in, pushes) = unbounded_channel();
        let settings = &shared.settings;
        let opened = bounded(
            &shared,
            Connection::open(
                &shared.target,
                settings.cluster,
                settings.timeout,
                pushes_in,
            ),
        )
        .await;
        let failure = match opened {
            Ok(conn) => {
                pause = MIN_PAUSE;
                let mut session = Session {
                    shared: &shared,
                    conn,
                    deferred: Vec::new(),
                };
                session.serve(pushes, &mut outage).await
            }
            Err(failure) => failure,
        };
        shared.set_connected(false);
        if matches!(failure, Failure::Shutdown) || shared.shut_down() {
            return;
        }
        outage.begin(&shared, &failure);
        outage.still(&shared);
        let wait = if failure.misconfiguration(settings.cluster).is_some() {
            MISCONFIGURED_PAUSE
        } else {
            pause
        };
        let until = Instant::now() + wait;
        pause = (pause * 2).min(MAX_PAUSE);
        // Queued work waits for the connection; only the store being dropped cuts the pause short.
        loop {
            tokio::select! {
                _ = sleep_until(until) => break,
                _ = shared.work.wake.notified() => if shared.shut_down() { return },
            }
        }
    }
}

/// One connection's life.
struct Session<'a> {
    shared: &'a Shared,
    conn: Connection,
    /// Links with a probe claim to retry later, and when.
    deferred: Vec<(Instant, Weak<Link>)>,
}

impl Session<'_> {
    async fn serve(
        &mut self,
        mut pushes: UnboundedReceiver<PushInfo>,
        outage: &mut Outage,
    ) -> Failure {
        let shared = self.shared;
        let channel = shared.channel.clone();
        if let Err(failure) = bounded(shared, self.conn.subscribe(&channel)).await {
            return failure;
        }
        // Whatever changed while there was no connection: push it, and read everything.
        if let Err(failure) = self.reconcile().await {
            return failure;
        }
        outage.end(shared);
        shared.set_connected(true);
        let mut next_tick = Instant::now() + shared.settings.reconcile_every;
        loop {
            let next_deferred = self.deferred.iter().map(|(at, _)| *at).min();
            let done = tokio::select! {
                push = pushes.recv() => match push {
                    Some(push) => self.on_push(push).await,
                    None => Err(Failure::Closed),
                },
                _ = shared.work.wake.notified() => {
                    if shared.shut_down() {
                        return Failure::Shutdown;
                    }
                    self.work().await
                }
                _ = sleep_until(next_tick) => {
                    next_tick = Instant::now() + shared.settings.reconcile_every;
                    self.reconcile().await
                }
                _ = sleep_until(next_deferred.unwrap_or(next_tick)), if next_deferred.is_some() => {
                    self.undefer();
                    self.work().await
                }
            };
            if let Err(failure) = done {
                return failure;
            }
        }
    }

    /// Serves the queued links.
    async fn work(&mut self) -> Result<(), Failure> {
        let links = self.shared.work.take();
        self.serve_links(links).await
    }

    /// Reads every record again (pushing first what has to be pushed, and giving back the
    /// tokens to give back), forgets tokens Redis has let go, and lets go of the links of
    /// dropped circuits that have nothing left to do.
    async fn reconcile(&mut self) -> Result<(), Failure> {
        let now = std::time::Instant::now();
        // Every link is served here: empty the queue, so that queued links can queue again.
        drop(self.shared.work.take());
        let links: Vec<Arc<Link>> = {
            let mut links = self.shared.links();
            super::prune(&mut links, self.shared.settings.keep);
            links.values().cloned().collect()
        };
        if links.is_empty() {
            let mut conn = self.conn.clone();
            let ping = redis::cmd("PING");
            return bounded(self.shared, ping.query_async::<Value>(&mut conn))
                .await
                .map(drop);
        }
        for link in &links {
            link.expire_tokens(now);
            link.state().read = true;
        }
        self.serve_links(links).await
    }

    /// Queues the links whose probe claim may be retried now.
    fn undefer(&mut self) {
        let now = Instant::now();
        self.deferred.retain(|(at, link)| {
            if *at > now {
                return true;
            }
            if let Some(link) = link.upgrade() {
                link.queue();
            }
            false
        });
    }

    async fn serve_links(&mut self, links: Vec<Arc<Link>>) -> Result<(), Failure> {
        for batch in links.chunks(BATCH) {
            let served = join_all(batch.iter().map(|link| {
                let conn = self.conn.clone();
                serve_link(self.shared, conn, link.clone())
            }))
            .await;
            for result in served {
                match result {
                    Ok(Some((at, link))) => {
                        // One retry per link: the one decided last.
                        self.deferred.retain(|(_, l)| !l.ptr_eq(&link));
                        self.deferred.push((at, link));
                    }
                    Ok(None) => {}
                    // What failed stays to do, and is done again at the next reconciliation.
                    Err(Failure::Refused(e)) => self.refused(&e),
                    Err(failure) => return Err(failure),
                }
            }
        }
        Ok(())
    }

    /// Logs an error answer from Redis, at most once a minute.
    fn refused(&self, error: &redis::RedisError) {
        let mut last = lock(&self.shared.last_refusal);
        if last.is_none_or(|at| at.elapsed() >= Duration::from_secs(60)) {
            *last = Some(Instant::now());
            let url = &self.shared.target;
            tracing::warn!(%url, %error, "failfast: Redis refused an operation; it is retried at the next reconciliation");
        }
    }

    /// Follows what another process published.
    async fn on_push(&mut self, push: PushInfo) -> Result<(), Failure> {
        match push.kind {
            PushKind::Disconnection => return Err(Failure::Closed),
            PushKind::Message => {}
            _ => return Ok(()),
        }
        let Some(text) = push
            .data
            .get(1)
            .and_then(|v| redis::from_redis_value_ref::<String>(v).ok())
        else {
            return Ok(());
        };
        let mut fields = text.split(' ');
        let Some(link) = fields
            .next()
            .and_then(decode)
            .and_then(|name| self.shared.link(&name))
        else {
            return Ok(()); // a circuit this process does not use
        };
        let rest: Vec<&str> = fields.collect();
        match rest.as_slice() {
            ["probe"] => link.token_freed(),
            ["wanted"] => link.give_up_free_tokens(),
            _ => {
                if let Some(record) = Record::parse(rest.into_iter()) {
                    follow(&link, Some(record), Source::Message);
                }
            }
        }
        Ok(())
    }
}

/// Does what `link` has to do: push its change, read its record, give back and claim probe
/// tokens. Returns when to retry a probe claim that has to wait.
async fn serve_link(
    shared: &Shared,
    mut conn: Connection,
    link: Arc<Link>,
) -> Result<Option<(Instant, Weak<Link>)>, Failure> {
    let call = Call {
        keys: &link.keys,
        channel: &shared.channel,
        writer: link.writer,
    };
    let scripts = &shared.scripts;
    let keep = shared.settings.keep;
    // A change is pushed even when its circuit is gone: a reset just before the last breaker
    // was dropped still closes the fleet's circuit.
    let circuit = link.circuit.upgrade();

    if let Some(pending) = link.take_change() {
        let local = match &circuit {
            Some(circuit) => circuit.peek(),
            None => match pending
                .until
                .map(|until| until.saturating_duration_since(std::time::Instant::now()))
            {
                Some(left) if !left.is_zero() => State::Open { retry_in: left },
                _ => State::HalfOpen,
            },
        };
        let open_for = match (pending.change, local) {
            (Change::Close | Change::Reset, _) => Some(Duration::ZERO),
            (_, State::Open { retry_in }) => Some(retry_in),
            // The open period it announced is over here: the record, read below, decides.
            _ => None,
        };
        if let Some(open_for) = open_for {
            let base = pending.base;
            let pushed = call.push(scripts, &mut conn, &pending, open_for, keep);
            match bounded(shared, pushed).await {
                Ok(answer) => {
                    if let Answer::Made(record) = &answer {
                        link.pushed(base, record);
                    }
                    answered(&link, answer);
                    link.state().read = false;
                }
                Err(failure) => {
                    // Onto the link that now has the name: a circuit made again takes over.
                    shared.current(&link).change_again(pending);
                    return Err(failure);
                }
            }
        } else {
            link.state().read = true;
        }
    }

    let mut releases = link.take_releases().into_iter();
    while let Some(holder) = releases.next() {
        if let Err(failure) = bounded(shared, call.release(scripts, &mut conn, &holder)).await {
            shared
                .current(&link)
                .release_later(std::iter::once(holder).chain(releases));
            return Err(failure);
        }
    }
    if circuit.is_none() {
        return Ok(None);
    }

    for (holder, claim) in link.take_renewals() {
        let renewed_at = std::time::Instant::now();
        let base = link.state().known;
        let renewal = call.claim(scripts, &mut conn, &holder, &claim, base, keep);
        match bounded(shared, renewal).await {
            Ok(Answer::Claimed) => link.renewed(&holder, renewed_at),
            Ok(answer) => answered(&link, answer),
            Err(failure) => {
                shared.current(&link).renew_later(holder, claim);
                return Err(failure);
            }
        }
    }

    let read = std::mem::take(&mut link.state().read);
    if read {
        match bounded(shared, call.read(scripts, &mut conn)).await {
            Ok(answer) => answered(&link, answer),
            Err(failure) => {
                link.state().read = true;
                return Err(failure);
            }
        }
    }

    let now = std::time::Instant::now();
    let (claim, base) = match link.claim_due(now) {
        ClaimDue::Nothing => return Ok(None),
        ClaimDue::Later(at) => return Ok(Some((Instant::from_std(at), Arc::downgrade(&link)))),
        ClaimDue::Now(claim, base) => (claim, base),
    };
    let holder = link.next_holder();
    let claimed = call.claim(scripts, &mut conn, &holder, &claim, base, keep);
    let retry_at = match bounded(shared, claimed).await {
        Ok(Answer::Claimed) => {
            link.claimed(holder, claim, now);
            return Ok(None);
        }
        // Held elsewhere: a token given back is announced; the wait bounds a missed announcement.
        Ok(Answer::Taken(wait)) => now + wait.min(CLAIM_RETRY),
        Ok(answer @ Answer::Unchanged(record)) => {
            answered(&link, answer);
            match record.map(|r| (r.phase, r.version)) {
                Some((FleetPhase::Open(left), _)) => now + left,
                // Half-open in a version this claim was not made for: claim again in it.
                Some((FleetPhase::HalfOpen, version)) if Some(version) != base => now,
                Some((FleetPhase::HalfOpen, _)) => now + CLAIM_RETRY,
                _ => return Ok(None), // closed: no probe is needed
            }
        }
        Ok(Answer::Made(_)) => return Ok(None),
        Err(failure) => {
            // The claim may have been made although its answer was lost: give it back.
            shared.current(&link).release_later([holder]);
            link.claim_later(claim, now);
            return Err(failure);
        }
    };
    link.claim_later(claim, retry_at);
    Ok(Some((Instant::from_std(retry_at), Arc::downgrade(&link))))
}

/// Follows what a script answered.
fn answered(link: &Link, answer: Answer) {
    match answer {
        Answer::Made(record) => follow(link, Some(record), Source::Answer),
        Answer::Unchanged(record) => follow(link, record, Source::Answer),
        Answer::Claimed | Answer::Taken(_) => {}
    }
}

/// Brings the local circuit to the fleet's record, unless it has news of its own.
fn follow(link: &Link, record: Option<Record>, source: Source) {
    let Some(circuit) = link.circuit.upgrade() else {
        return;
    };
    if let Some((phase, seen)) = link.follow(record, source, &circuit) {
        circuit.follow_remote(phase, seen);
    }
}
