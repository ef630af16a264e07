//! Why a [`RedisStore`](super::RedisStore) could not be made.

use crate::error::ConfigError;

/// Why a [`RedisStore`](super::RedisStore) could not be made: a malformed URL, a setting out of
/// range, or no thread to run it on. Redis being unreachable is not an error: the store
/// connects in the background, and its breakers work locally meanwhile.
///
/// Its message never shows the URL's password.
///
/// ```
/// let err = failfast::RedisStore::new("http://user:s3cret@cache:6379").unwrap_err();
/// assert!(err.to_string().starts_with("not a Redis URL"));
/// assert!(!err.to_string().contains("s3cret"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisStoreError {
    /// The URL is not a Redis URL.
    #[error(
        "not a Redis URL ({reason}); expected redis://[user:password@]host[:port][/db] or \
         redis+unix:///path"
    )]
    Url {
        /// What is wrong with it.
        reason: String,
    },
    /// A setting is out of range.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The store's background thread could not be started.
    #[error("cannot start the failfast-redis thread: {0}")]
    Thread(#[source] std::io::Error),
}

impl RedisStoreError {
    pub(super) fn url(reason: impl Into<String>) -> Self {
        RedisStoreError::Url {
            reason: reason.into(),
        }
    }
}
