//! The Redis store: one circuit per name for a whole fleet of processes and hosts.

mod builder;
mod connection;
mod error;
mod keys;
mod link;
mod scripts;
mod url;
mod worker;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::time::Duration;

use super::{Circuit, MemoryStore, ProbeClaim, Store};
use crate::event::Listener;
use crate::name::Name;
pub use builder::RedisStoreBuilder;
pub use error::RedisStoreError;
use keys::Keys;
use link::Link;
use worker::Shared;

/// Shares circuits by name across every process and host that uses the same Redis: a trip in
/// one process opens the circuit in all of them, and a close anywhere closes it everywhere.
/// With the `redis` feature.
///
/// ```no_run
/// use std::time::Duration;
/// use failfast::{Breaker, RedisStore};
///
/// // Returns at once: the store connects in the background.
/// let store = RedisStore::new("redis://cache.internal:6379")?;
/// let breaker = Breaker::builder("payments")
///     .store(store.clone())
///     .open_for(Duration::from_secs(30))
///     .build()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # What is shared, and what is not
/// - **Fleet-wide: the circuit's state.** Opening (a trip, a failed probe,
///   [`force_open`](crate::Breaker::force_open)) and closing (successful probes,
///   [`reset`](crate::Breaker::reset)) reach every process within milliseconds, through Redis
///   pub/sub, with a periodic re-read as the safety net. The time an open period has left comes
///   from Redis (`PTTL`), so hosts need not agree on the time. A process that starts, or makes
///   a breaker, while the circuit is open learns it as soon as the store has read the record,
///   a millisecond or so on a local network, without a call having to fail
///   ([`wait_connected`](RedisStore::wait_connected) holds start-up until the store is
///   connected). Making a breaker never changes the shared state.
/// - **Fleet-wide: half-open probes.** When the open period ends, the fleet as a whole sends at
///   most [`probes`](crate::Builder::probes) calls to the dependency at a time: each probe
///   holds a token in Redis, which expires after the breaker's
///   [`probe_timeout`](crate::Builder::probe_timeout) if its process dies. A process claims a
///   token when one of its calls wants to probe: that call is refused (its
///   [`Open::retry_in`](crate::Open::retry_in) is zero) and a call soon after probes. The token
///   waits for this process's next call, unless another process asks for one: then it goes
///   back to the fleet. The successes that close the circuit are counted by the process that
///   probes.
/// - **Per process: counting failures.** Each process counts its own calls and applies its
///   own [trip policy](crate::TripPolicy): counting every call in Redis would put a network
///   round trip on every call, and a slow Redis would slow every call. A failing dependency
///   fails for every process, so each trips on its own evidence and the first trip opens the
///   circuit everywhere.
/// - **Per process: statistics and listeners.** Listeners hear every transition, including the
///   ones made elsewhere, with [`Reason::Remote`](crate::Reason::Remote).
///
/// # Free on the hot path
/// A guarded call never touches the network: it reads the circuit in memory, as with the
/// in-process store. Only the `failfast-redis` background thread, one per store, talks to
/// Redis; so the store works the same from synchronous code, with no async runtime, and from
/// inside any Tokio runtime, whose threads it never blocks. Make one store and clone it.
///
/// # When Redis fails
/// No call waits on Redis, and no call fails because Redis is down, slow, paused or gone:
/// each process goes on with its own circuits (failing open to local), and probes on its own
/// while it cannot reach the fleet's tokens. Nothing in the background waits longer than the
/// [store timeout](RedisStoreBuilder::timeout) (50 ms by default). The store logs the start
/// and the end of an outage, once each, through `tracing`; it connects again by itself, and
/// then pushes the changes made meanwhile and reads the fleet's state, so the fleet converges
/// within about a second of Redis answering again, even if it came back empty.
///
/// # In Redis
/// Each circuit is a small hash (`failfast:{name}:state`), a key that lives as long as the open
/// period (`...:open`) and a sorted set of probe tokens (`...:probes`), changed only by Lua
/// scripts, atomically, and guarded by a version so that a late or repeated write never undoes
/// a newer one. The name is encoded, so that no name can reach another circuit's keys, and
/// forms the hash tag, so a circuit's keys share a slot on Redis Cluster. Every key expires:
/// a closed circuit's record after [`keep_records`](RedisStoreBuilder::keep_records) (10
/// minutes by default). Changes are announced on the channel `failfast:db0:events` (for
/// database 0), so stores on different databases of one Redis share nothing. Redis 6 or later
/// is needed (the store speaks RESP3).
#[derive(Clone)]
pub struct RedisStore {
    handle: Arc<Handle>,
}

/// What the clones of a store share; dropping the last one stops the background thread.
struct Handle {
    shared: Arc<Shared>,
    memory: MemoryStore,
    /// How many links were kept the last time the links of dropped circuits were let go.
    kept_links: AtomicUsize,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Release);
        self.shared.work.wake.notify_one();
    }
}

impl RedisStore {
    /// A store on the Redis at `url`, with the default settings. It returns at once, whether
    /// or not Redis is reachable: it connects in the background. Only a malformed URL is an
    /// error.
    ///
    /// The URL is `redis://[user:password@]host[:port][/db]`, or `redis+unix:///path`. The
    /// password never appears in the store's `Debug` output, its errors or its logs.
    ///
    /// ```
    /// use failfast::RedisStore;
    /// let store = RedisStore::new("redis://:s3cret@127.0.0.1:1")?; // nothing listens there
    /// assert!(!store.is_connected());
    /// assert_eq!(
    ///     format!("{store:?}"),
    ///     r#"RedisStore { url: "redis://:***@127.0.0.1:1/0", prefix: "failfast:", cluster: false, connected: false }"#
    /// );
    /// # Ok::<(), failfast::RedisStoreError>(())
    /// ```
    pub fn new(url: &str) -> Result<RedisStore, RedisStoreError> {
        Self::builder(url).build()
    }

    /// Starts configuring a store on the Redis at `url`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::RedisStore;
    /// let store = RedisStore::builder("redis://127.0.0.1:1")
    ///     .prefix("billing:")
    ///     .timeout(Duration::from_millis(20))
    ///     .build()?;
    /// # let _ = store;
    /// # Ok::<(), failfast::RedisStoreError>(())
    /// ```
    pub fn builder(url: &str) -> RedisStoreBuilder {
        RedisStoreBuilder::new(url)
    }

    fn start(shared: Shared) -> Result<RedisStore, RedisStoreError> {
        let shared = Arc::new(shared);
        worker::start(shared.clone()).map_err(RedisStoreError::Thread)?;
        Ok(RedisStore {
            handle: Arc::new(Handle {
                shared,
                memory: MemoryStore::new(),
                kept_links: AtomicUsize::new(0),
            }),
        })
    }

    /// Whether the store is connected to Redis now. While it is not, its circuits work on
    /// their own, in this process.
    ///
    /// ```
    /// let store = failfast::RedisStore::new("redis://127.0.0.1:1")?;
    /// assert!(!store.is_connected());
    /// # Ok::<(), failfast::RedisStoreError>(())
    /// ```
    pub fn is_connected(&self) -> bool {
        self.handle.shared.connected.load(Acquire)
    }

    /// Waits until the store is connected, for at most `timeout`, and returns whether it is.
    /// Once connected, the store has read the records of the circuits made so far: start-up
    /// code can wait here so that the first calls already know of circuits open in the fleet.
    /// It blocks the calling thread: call it before starting an async runtime, or in
    /// `spawn_blocking`. Calls work whether or not the store is connected.
    ///
    /// ```
    /// use std::time::Duration;
    /// let store = failfast::RedisStore::new("redis://127.0.0.1:1")?; // nothing listens there
    /// assert!(!store.wait_connected(Duration::from_millis(10)));
    /// # Ok::<(), failfast::RedisStoreError>(())
    /// ```
    pub fn wait_connected(&self, timeout: Duration) -> bool {
        self.handle.shared.wait_connected(timeout)
    }

    fn link_of(&self, circuit: &Circuit) -> Option<Arc<Link>> {
        let link = self.handle.shared.links().get(circuit.name())?.clone();
        let same = link
            .circuit
            .upgrade()
            .is_some_and(|c| std::ptr::eq(Arc::as_ptr(&c), circuit));
        same.then_some(link)
    }

    /// Links a new circuit to its record: it follows the record from now on, starting with a
    /// read that the background thread makes at once.
    fn link(&self, name: &Name, circuit: &Arc<Circuit>) {
        let shared = &self.handle.shared;
        let keys = Keys::new(&shared.settings.prefix, name);
        let link = Link::new(name.clone(), keys, circuit, shared.work.clone());
        let watcher: Arc<dyn Listener> = link.clone();
        circuit.watch(Arc::downgrade(&watcher));
        let mut links = shared.links();
        // Letting go of the links of dropped circuits whenever their number doubles costs a
        // constant per name, even while Redis is away and nothing else prunes them.
        if links.len() >= 2 * self.handle.kept_links.load(Relaxed).max(8) {
            prune(&mut links, shared.settings.keep);
            self.handle.kept_links.store(links.len(), Relaxed);
        }
        let old = links.insert(name.clone(), link.clone());
        drop(links);
        if let Some(old) = old {
            // A circuit made again: it takes over what the old one had to do, and starts where
            // the fleet was, as far as the old one knew.
            if let Some((phase, seen)) = link.inherit(&old, circuit) {
                circuit.follow_remote(phase, seen);
            }
        }
        link.queue();
    }
}

/// The most links of dropped circuits kept for a change not pushed yet: while Redis is away,
/// a process that makes and drops circuits by the thousand keeps the latest changes only.
const ORPHANS: usize = 4096;

/// Lets go of the links of dropped circuits that have nothing left to do, and of the oldest
/// of those that do beyond [`ORPHANS`].
fn prune(links: &mut std::collections::HashMap<Name, Arc<Link>>, keep: Duration) {
    links.retain(|_, link| link.circuit.strong_count() > 0 || !link.spent(keep));
    let mut orphans: Vec<(std::time::Instant, Name)> = links
        .iter()
        .filter(|(_, link)| link.circuit.strong_count() == 0)
        .filter_map(|(name, link)| link.change_made().map(|made| (made, name.clone())))
        .collect();
    if orphans.len() > ORPHANS {
        orphans.sort_unstable_by_key(|(made, _)| std::cmp::Reverse(*made));
        for (_, name) in &orphans[ORPHANS..] {
            links.remove(name);
        }
    }
}

impl Store for RedisStore {
    fn circuit(&self, name: &Name, create: &dyn Fn() -> Arc<Circuit>) -> Arc<Circuit> {
        // Linked before the memory store hands the circuit out: its link hears every transition.
        self.handle.memory.circuit(name, &|| {
            let circuit = create();
            self.link(name, &circuit);
            circuit
        })
    }

    /// Grants the probe from a token claimed in Redis, or, while Redis cannot be reached,
    /// grants it locally.
    fn claim_probe(&self, circuit: &Circuit, claim: ProbeClaim) -> bool {
        if !self.is_connected() {
            return true;
        }
        match self.link_of(circuit) {
            Some(link) => link.take_token(claim),
            None => true,
        }
    }

    fn probe_finished(&self, circuit: &Circuit, probe: u64) {
        if let Some(link) = self.link_of(circuit) {
            link.token_back(probe);
        }
    }

    /// Lets go of a circuit no breaker uses, as the memory store does, once the store knows
    /// the fleet's circuit is closed: while it is open or half-open, or not read yet, a breaker
    /// made next (one per request, say) still finds the circuit as the fleet has it, rather
    /// than a fresh closed one. Such circuits go when the memory store next lets go of unused
    /// ones that are not open.
    fn released(&self, circuit: &Arc<Circuit>) {
        let fleet_busy = self
            .link_of(circuit)
            .is_some_and(|link| !link.fleet_closed());
        if !fleet_busy {
            self.handle.memory.released(circuit);
        }
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shared = &self.handle.shared;
        f.debug_struct("RedisStore")
            .field("url", &shared.target)
            .field("prefix", &shared.settings.prefix)
            .field("cluster", &shared.settings.cluster)
            .field("connected", &self.is_connected())
            .finish()
    }
}
