//! The visit counter: one Redis `INCR`, guarded by the app's circuit.

use std::time::Duration;

use failfast::{Breaker, failfast};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, RedisError};

/// The Redis key that holds the count.
pub const KEY: &str = "visits";

/// Why a visit was not counted.
#[derive(Debug, thiserror::Error)]
pub enum VisitError {
    /// Redis failed or did not answer in time.
    #[error("redis: {0}")]
    Redis(#[from] RedisError),
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
            VisitError::Open(_) => false,
        }
    }
}

/// Counts visits in Redis through a circuit breaker.
#[derive(Clone)]
pub struct Counter {
    redis: ConnectionManager,
    breaker: Breaker,
}

impl Counter {
    /// A counter on the Redis at `url`, whose commands give up after `timeout`, guarded by
    /// `breaker`. It connects on first use, so it can be made while Redis is down.
    pub fn new(url: &str, timeout: Duration, breaker: Breaker) -> Result<Counter, RedisError> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(1));
        let redis = ConnectionManager::new_lazy_with_config(redis::Client::open(url)?, config)?;
        Ok(Counter { redis, breaker })
    }

    /// Counts one visit and returns the new count.
    ///
    /// While the circuit is open this returns `VisitError::Open` at once, without asking Redis.
    /// Timeouts and connection failures open it (see [`VisitError::is_outage`]).
    #[failfast(breaker = self.breaker, when = VisitError::is_outage)]
    pub async fn incr(&self) -> Result<u64, VisitError> {
        let mut redis = self.redis.clone();
        Ok(redis.incr(KEY, 1).await?)
    }

    /// The breaker that guards the counter.
    pub fn breaker(&self) -> &Breaker {
        &self.breaker
    }
}
