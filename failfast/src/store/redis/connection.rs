//! One connection to Redis, a single server or a cluster, that carries the store's commands and
//! its subscription to the events channel (RESP3, so both share it).
//!
//! The store connects again by itself when a connection fails; the connection does no retrying
//! of its own, so that a command never waits out a reconnection.

use std::time::Duration;

use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::cluster_async::ClusterConnection;
use redis::{AsyncConnectionConfig, Cmd, Pipeline, PushInfo, RedisFuture, RedisResult, Value};
use tokio::sync::mpsc::UnboundedSender;

use super::url::Target;

/// A connection to a single Redis server or to a Redis Cluster.
#[derive(Clone)]
pub(super) enum Connection {
    Single(MultiplexedConnection),
    Cluster(ClusterConnection),
}

impl Connection {
    /// Connects to `target`, sending what the server pushes (messages, disconnection) to `pushes`.
    pub(super) async fn open(
        target: &Target,
        cluster: bool,
        timeout: Duration,
        pushes: UnboundedSender<PushInfo>,
    ) -> RedisResult<Connection> {
        let settings = target
            .info
            .redis_settings()
            .clone()
            .set_protocol(redis::ProtocolVersion::RESP3)
            .set_lib_name("failfast", env!("CARGO_PKG_VERSION"));
        let info = target.info.clone().set_redis_settings(settings);
        if cluster {
            let client = redis::cluster::ClusterClientBuilder::new([info])
                .use_protocol(redis::ProtocolVersion::RESP3)
                .push_sender(pushes)
                .connection_timeout(timeout)
                .response_timeout(timeout)
                // Redirects (a slot moving) are followed; every wait is bounded by the store.
                .retries(3)
                .min_retry_wait(5)
                .max_retry_wait(50)
                .build()?;
            Ok(Connection::Cluster(client.get_async_connection().await?))
        } else {
            let config = AsyncConnectionConfig::new()
                .set_connection_timeout(Some(timeout))
                .set_response_timeout(Some(timeout))
                .set_push_sender(pushes);
            let client = redis::Client::open(info)?;
            let connection = client
                .get_multiplexed_async_connection_with_config(&config)
                .await?;
            Ok(Connection::Single(connection))
        }
    }

    /// Subscribes to `channel`: its messages arrive as pushes.
    pub(super) async fn subscribe(&mut self, channel: &str) -> RedisResult<()> {
        match self {
            Connection::Single(c) => c.subscribe(channel).await,
            Connection::Cluster(c) => c.subscribe(channel).await,
        }
    }
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Connection::Single(c) => c.req_packed_command(cmd),
            Connection::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Connection::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Connection::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Connection::Single(c) => c.get_db(),
            Connection::Cluster(c) => c.get_db(),
        }
    }
}
