//! The apps behind failfast's runnable examples, as a library so that tests and the load test
//! can start them too. Each example's `main` (in the package's root folder) is a thin shell
//! around one of these.
//!
//! - [`visits`]: the flagship, a web app whose visit counter lives in Redis.
//! - [`visits_load`]: the load test of the visits app, with Redis healthy, paused and resumed.
//! - [`local_redis`]: a `redis-server` child process for examples that need a Redis of their own.

pub mod local_redis;
pub mod visits;
pub mod visits_load;
