//! The settings of a [`RedisStore`].

use std::fmt;
use std::time::Duration;

use super::RedisStore;
use super::error::RedisStoreError;
use super::url::Target;
use super::worker::{Settings, Shared};
use crate::error::ConfigError;

/// Configures a [`RedisStore`]: made by [`RedisStore::builder`].
///
/// ```
/// use std::time::Duration;
/// use failfast::RedisStore;
///
/// let store = RedisStore::builder("redis://127.0.0.1:6379")
///     .prefix("checkout:")                       // keys and channel: checkout:...
///     .timeout(Duration::from_millis(100))       // the longest wait for Redis, in the background
///     .reconcile_every(Duration::from_secs(2))   // the safety net under pub/sub
///     .keep_records(Duration::from_secs(3600))   // how long a closed circuit's record stays
///     .build()?;
/// # let _ = store;
/// # Ok::<(), failfast::RedisStoreError>(())
/// ```
pub struct RedisStoreBuilder {
    target: Result<Target, RedisStoreError>,
    settings: Settings,
}

impl RedisStoreBuilder {
    pub(super) fn new(url: &str) -> Self {
        RedisStoreBuilder {
            target: Target::parse(url),
            settings: Settings {
                prefix: "failfast:".to_owned(),
                timeout: Duration::from_millis(50),
                reconcile_every: Duration::from_secs(5),
                keep: Duration::from_secs(600),
                cluster: false,
            },
        }
    }

    /// What every key and the events channel start with; `failfast:` by default. Stores with
    /// different prefixes share nothing, so one Redis can serve several fleets.
    ///
    /// ```
    /// let err = failfast::RedisStore::builder("redis://127.0.0.1").prefix("a {b}").build().unwrap_err();
    /// assert!(err.to_string().contains("`prefix`"));
    /// ```
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.settings.prefix = prefix.into();
        self
    }

    /// The longest the background thread waits for Redis to connect or to answer: 50 ms by
    /// default. An answer later than this counts as an outage: the store connects again and
    /// circuits go on locally meanwhile. Guarded calls never wait on Redis, whatever this is.
    ///
    /// ```
    /// use std::time::Duration;
    /// let err = failfast::RedisStore::builder("redis://127.0.0.1").timeout(Duration::ZERO).build().unwrap_err();
    /// assert!(err.to_string().contains("`timeout`"));
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.settings.timeout = timeout;
        self
    }

    /// How often every circuit's record is read again, in case a published change was missed:
    /// every 5 seconds by default. Changes travel by pub/sub on the store's own connection,
    /// and a store that loses its connection reads every record when it connects again, so
    /// this is a safety net. Its cost to Redis: each process runs one small script per
    /// circuit it uses, per period (100 processes with 50 circuits each: 1,000 a second).
    pub fn reconcile_every(mut self, every: Duration) -> Self {
        self.settings.reconcile_every = every;
        self
    }

    /// How long a circuit's record stays in Redis once nothing needs it: after the circuit
    /// closes, or after its open period (or a probe token) ends with no one probing. 10
    /// minutes by default. Every key the store writes expires.
    pub fn keep_records(mut self, keep: Duration) -> Self {
        self.settings.keep = keep;
        self
    }

    /// Connects to a Redis Cluster, of which the URL names one node.
    pub fn cluster(mut self) -> Self {
        self.settings.cluster = true;
        self
    }

    /// Starts the store: it connects in the background.
    ///
    /// # Errors
    /// A malformed URL, a setting out of range, or no thread to run the store on.
    pub fn build(self) -> Result<RedisStore, RedisStoreError> {
        let target = self.target?;
        let settings = self.settings;
        let prefix = &settings.prefix;
        if prefix.contains(['{', '}'])
            || prefix.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(ConfigError::new(
                "prefix",
                "free of braces, spaces and control characters",
                prefix,
            )
            .into());
        }
        let ms = Duration::from_millis(1);
        let minute = Duration::from_secs(60);
        if !(ms..=minute).contains(&settings.timeout) {
            return Err(
                ConfigError::new("timeout", "between 1 ms and 60 s", settings.timeout).into(),
            );
        }
        if !(ms..=Duration::from_secs(3600)).contains(&settings.reconcile_every) {
            let every = settings.reconcile_every;
            return Err(
                ConfigError::new("reconcile_every", "between 1 ms and 1 hour", every).into(),
            );
        }
        if !(ms..=Duration::from_secs(365 * 24 * 3600)).contains(&settings.keep) {
            return Err(
                ConfigError::new("keep_records", "between 1 ms and a year", settings.keep).into(),
            );
        }
        RedisStore::start(Shared::new(target, settings))
    }
}

impl fmt::Debug for RedisStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("RedisStoreBuilder");
        match &self.target {
            Ok(target) => debug.field("url", target),
            Err(_) => debug.field("url", &"(malformed)"),
        };
        debug.field("settings", &self.settings).finish()
    }
}
