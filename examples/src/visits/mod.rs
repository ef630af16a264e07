//! The visits app: a web page whose visit counter lives in Redis, protected by failfast.
//!
//! - `GET /` counts the visit in Redis (`INCR visits`) and answers with the count. When Redis
//!   fails or does not answer within the timeout, or while the circuit is open and Redis is not
//!   even asked, it answers at once with the last count this process saw, marked stale (the
//!   word in the body, and an `x-stale` header); before any count was seen, `503`.
//! - `GET /metrics`: every circuit's state and counters, in Prometheus' text format.
//! - `GET /health`: every circuit's state, as JSON.
//!
//! The circuit lives in a [`RedisStore`], so every instance of the app pointed at one Redis
//! shares it: when one instance sees Redis fail, the others stop calling it too.
//!
//! ```no_run
//! # async fn run() -> Result<(), examples::visits::StartError> {
//! use examples::visits::{self, Config};
//!
//! let app = visits::start(Config::new("redis://127.0.0.1:6379/")).await?;
//! println!("listening on http://{}/", app.addr());
//! app.stop().await;
//! # Ok(()) }
//! ```

mod counter;
mod metrics;
mod routes;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use failfast::{Phase, RedisStore, RedisStoreError, Registry};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use counter::{Counter, KEY, VisitError};

/// The name of the circuit that guards Redis.
pub const CIRCUIT: &str = "redis";

/// How the app runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// The Redis that holds the count and the circuit.
    pub redis_url: String,
    /// Where to listen; port 0 picks a free port.
    pub addr: SocketAddr,
    /// How long a Redis command may take before it fails (default 100 ms).
    pub redis_timeout: Duration,
    /// How long the circuit stays open after Redis fails (default 5 s).
    pub open_for: Duration,
    /// Whether the breaker guards Redis (default true). `false` is the same app unprotected,
    /// for comparison: every request then waits on Redis.
    pub breaker: bool,
    /// How long [`Running::stop`] lets requests under way finish before it drops them
    /// (default 5 s).
    pub shutdown_grace: Duration,
}

impl Config {
    /// The defaults, on the Redis at `redis_url`, listening on 127.0.0.1:3000.
    pub fn new(redis_url: impl Into<String>) -> Config {
        Config {
            redis_url: redis_url.into(),
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 3000)),
            redis_timeout: Duration::from_millis(100),
            open_for: Duration::from_secs(5),
            breaker: true,
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// Why the app did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The Redis URL is malformed.
    #[error("REDIS_URL: {0}")]
    RedisUrl(String),
    /// The circuit's settings are invalid.
    #[error(transparent)]
    Config(#[from] failfast::ConfigError),
    /// The address could not be listened on.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

impl From<RedisStoreError> for StartError {
    fn from(e: RedisStoreError) -> Self {
        StartError::RedisUrl(e.to_string())
    }
}

impl From<redis::RedisError> for StartError {
    fn from(e: redis::RedisError) -> Self {
        StartError::RedisUrl(e.to_string())
    }
}

/// What the request handlers share.
struct App {
    counter: Counter,
    circuits: Registry,
    store: RedisStore,
    /// The highest count this process has seen; 0 before the first.
    last_seen: AtomicU64,
    /// Why the last visit that asked Redis was not counted; `None` once one is.
    last_failure: Mutex<Option<String>>,
    metrics: metrics::Metrics,
}

impl App {
    /// Every circuit of the app, for `/health` and `/metrics`.
    fn breakers(&self) -> Vec<failfast::Breaker> {
        let names = self.circuits.names();
        names
            .iter()
            .filter_map(|name| self.circuits.get(name))
            .collect()
    }
}

/// A running app; [`stop`](Running::stop) shuts it down.
#[derive(Debug)]
pub struct Running {
    addr: SocketAddr,
    breaker: failfast::Breaker,
    shutdown: oneshot::Sender<()>,
    server: JoinHandle<std::io::Result<()>>,
    grace: Duration,
}

/// Starts the app on the current tokio runtime and returns once it listens.
pub async fn start(config: Config) -> Result<Running, StartError> {
    let store = RedisStore::new(&config.redis_url)?;
    // The app's circuits, kept in a registry of its own so /health and /metrics can list them
    // (one here; a service calling several dependencies would keep one per dependency).
    let circuits = Registry::new();
    let breaker = circuits.get_or_build(CIRCUIT, |b| {
        b.open_for(config.open_for)
            .store(store.clone())
            .enabled(config.breaker)
            .on_transition(|t| match t.to {
                Phase::Open => tracing::warn!(circuit = %t.name, from = ?t.from, reason = ?t.reason, open_for = ?t.open_for, "circuit opened"),
                to => tracing::info!(circuit = %t.name, from = ?t.from, ?to, reason = ?t.reason, "circuit changed"),
            })
    })?;
    let counter = Counter::new(&config.redis_url, config.redis_timeout, breaker.clone())?;
    let app = Arc::new(App {
        counter,
        circuits,
        store,
        last_seen: AtomicU64::new(0),
        last_failure: Mutex::new(None),
        metrics: metrics::Metrics::new(),
    });
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|source| StartError::Listen {
            addr: config.addr,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Listen {
        addr: config.addr,
        source,
    })?;
    let (shutdown, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(
        axum::serve(listener, routes::router(app))
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .into_future(),
    );
    tracing::info!(%addr, breaker = config.breaker, "visits app listening");
    Ok(Running {
        addr,
        breaker,
        shutdown,
        server,
        grace: config.shutdown_grace,
    })
}

impl Running {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The breaker that guards Redis.
    pub fn breaker(&self) -> &failfast::Breaker {
        &self.breaker
    }

    /// Stops taking connections, lets the requests under way finish for at most the shutdown
    /// grace, and returns: a client that never finishes its request cannot hold it up.
    pub async fn stop(mut self) {
        let _ = self.shutdown.send(());
        if tokio::time::timeout(self.grace, &mut self.server)
            .await
            .is_err()
        {
            tracing::warn!(grace = ?self.grace, "requests still under way after the shutdown grace: dropping them");
            self.server.abort();
        }
    }
}
