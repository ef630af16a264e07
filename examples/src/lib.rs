//! The apps behind failfast's runnable examples, as a library so that tests and the load test
//! can start them too. Each example's `main` (in the package's root folder) is a thin shell
//! around one of these.
//!
//! - [`visits`]: the flagship, a web app whose visit counter lives in Redis.
//! - [`flaky_upstream`]: a mock upstream that misbehaves in five ways (random 500s, slow answers,
//!   404, 429 rate limiting, 204 empty), and a client that calls each through failfast.
//! - [`local_redis`]: a `redis-server` child process for examples that need a Redis of their own.

pub mod flaky_upstream;
pub mod local_redis;
pub mod visits;

/// Locks `mutex`, going on with its data if a thread panicked while holding it: what the apps
/// keep under locks (counts, caches) stays usable.
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}
