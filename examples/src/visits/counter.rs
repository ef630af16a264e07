//! The visit counter: one Redis `INCR`, guarded by the app's circuit.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use failfast::{Breaker, failfast};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, ErrorKind, RedisError};

use crate::lock;

/// The Redis key that holds the count.
pub const KEY: &str = "visits";

/// Why a visit was not counted.
#[derive(Debug, thiserror::Error)]
pub enum VisitError {
    /// Redis failed or did not answer in time.
    #[error(transparent)]
    Redis(#[from] RedisError),
    /// Redis did not answer within the timeout.
    #[error("timed out after {0:?}")]
    TimedOut(Duration),
    /// The circuit is open: Redis was not asked.
    #[error(transparent)]
    Open(#[from] failfast::Open),
}

impl VisitError {
    /// Whether the error says Redis is down or struggling, and so counts against the circuit.
    /// A command Redis answered with an error of the data (say `WRONGTYPE`, when the key holds
    /// something else) is a bug to fix, not an outage: it does not open the circuit.
    pub fn is_outage(&self) -> bool {
        match self {
            VisitError::Redis(e) => {
                e.is_timeout()
                    || e.is_io_error()
                    || e.is_connection_dropped()
                    || e.is_connection_refusal()
                    || matches!(
                        e.code(),
                        Some(
                            "LOADING"
                                | "BUSY"
                                | "TRYAGAIN"
                                | "CLUSTERDOWN"
                                | "MASTERDOWN"
                                | "READONLY"
                                | "OOM"
                        )
                    )
            }
            VisitError::TimedOut(_) => true,
            VisitError::Open(_) => false,
        }
    }
}

/// Counts visits in Redis through a circuit breaker.
#[derive(Clone)]
pub struct Counter {
    redis: Arc<Connection>,
    timeout: Duration,
    breaker: Breaker,
}

/// The connection to Redis, remade when it is stuck on an error it does not recover from.
struct Connection {
    client: redis::Client,
    config: ConnectionManagerConfig,
    current: Mutex<ConnectionManager>,
}

impl Connection {
    fn get(&self) -> ConnectionManager {
        lock(&self.current).clone()
    }

    /// Replaces the connection with a fresh one, which connects on first use.
    fn remake(&self) {
        match ConnectionManager::new_lazy_with_config(self.client.clone(), self.config.clone()) {
            Ok(fresh) => *lock(&self.current) = fresh,
            Err(e) => tracing::warn!(error = %e, "could not remake the Redis connection"),
        }
    }
}

impl Counter {
    /// A counter on the Redis at `url`, whose commands give up after `timeout`, guarded by
    /// `breaker`. It connects on first use, so it can be made while Redis is down.
    pub fn new(url: &str, timeout: Duration, breaker: Breaker) -> Result<Counter, RedisError> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(1));
        let current = Mutex::new(ConnectionManager::new_lazy_with_config(
            client.clone(),
            config.clone(),
        )?);
        let redis = Arc::new(Connection {
            client,
            config,
            current,
        });
        Ok(Counter {
            redis,
            timeout,
            breaker,
        })
    }

    /// Counts one visit and returns the new count, within the timeout whatever happens
    /// (reconnecting included).
    ///
    /// While the circuit is open this returns `VisitError::Open` at once, without asking Redis.
    /// Timeouts and connection failures open it (see [`VisitError::is_outage`]).
    #[failfast(breaker = self.breaker, when = VisitError::is_outage)]
    pub async fn incr(&self) -> Result<u64, VisitError> {
        match tokio::time::timeout(self.timeout, self.incr_in_redis()).await {
            Ok(Err(e)) if e.is_timeout() => Err(VisitError::TimedOut(self.timeout)),
            Ok(count) => Ok(count?),
            Err(_) => Err(VisitError::TimedOut(self.timeout)),
        }
    }

    async fn incr_in_redis(&self) -> Result<u64, RedisError> {
        let first = self.redis.get().incr(KEY, 1).await;
        match first {
            // The connection manager finds out that its connection is gone only by using it:
            // it hands out the failure of its last attempt to connect (refused, or reset when
            // Redis had no room), or fails to write to a connection Redis or a proxy closed
            // while idle; only then does it connect again. Redis may well be healthy, so try
            // once more. Nothing was sent on a connection that failed so (a reset after the
            // command arrived would count the visit twice, which is rare and harmless).
            Err(e) if e.is_connection_dropped() => self.redis.get().incr(KEY, 1).await,
            // It keeps a failure other than I/O for good (a password Redis refused, which a
            // rotation may fix): make a new connection for the next visit.
            Err(e) if e.kind() == ErrorKind::AuthenticationFailed => {
                self.redis.remake();
                Err(e)
            }
            answer => answer,
        }
    }

    /// The breaker that guards the counter.
    pub fn breaker(&self) -> &Breaker {
        &self.breaker
    }
}
