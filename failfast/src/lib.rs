//! A circuit breaker for Rust services.
//!
//! When a dependency (an HTTP API, a database, another service) goes slow or down, a service
//! that keeps calling it waits on every call, runs out of workers, and falls over with it. A
//! [`Breaker`] watches the calls; once they fail, it *opens* and refuses further calls at once,
//! so the service can answer with a fallback; after a while it lets a *probe* through, and
//! closes again when the dependency has recovered.
//!
//! ```
//! use std::time::Duration;
//! use failfast::{Breaker, Error};
//!
//! let breaker = Breaker::new("sales_api", Duration::from_secs(60));
//!
//! fn get_invoices() -> Result<Vec<String>, std::io::Error> {
//!     Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "took more than 3 s"))
//! }
//!
//! for _ in 0..3 {
//!     let invoices = match breaker.call(get_invoices) {
//!         Ok(invoices) => invoices,
//!         Err(Error::Inner(e)) => { eprintln!("sales API failed: {e}"); vec![] }
//!         Err(Error::Open(open)) => { eprintln!("{open}"); vec![] } // fast: not even tried
//!     };
//!     assert!(invoices.is_empty());
//! }
//! assert_eq!(breaker.stats().rejected, 2);
//! ```
//!
//! The [`failfast`](macro@failfast) attribute does the same for a whole function, the way the
//! Python decorator does:
//!
//! ```
//! use failfast::failfast;
//!
//! #[failfast("sales_api", 60)]
//! fn get_invoices() -> anyhow::Result<Vec<String>> {
//!     anyhow::bail!("took more than 3 s")
//! }
//!
//! assert!(get_invoices().is_err()); // ran, failed, and opened the circuit
//! let refused = get_invoices().unwrap_err();
//! assert!(refused.downcast_ref::<failfast::Open>().is_some()); // did not run
//! ```
//!
//! # What is in the box
//! - The [`failfast`](macro@failfast) attribute macro, for sync and async functions.
//! - Guarded calls: [`Breaker::call`], [`Breaker::call_if`] (only some errors count), async
//!   [`Breaker::run`] and [`Breaker::run_if`] (cancel-safe), and the two-step
//!   [`Breaker::try_acquire`] / [`Permit`].
//! - When to open: [`TripPolicy`] (failures in a row, failure rate over calls or time, slow calls).
//! - How long to stay open: [`Backoff`] (constant, exponential, jitter).
//! - Half-open probes: a limited number of permits, successes needed to close, and a timeout
//!   after which a hung probe's permit is handed to another call ([`Builder::probes`]).
//! - Observation and control: [`Listener`]s, [`Breaker::state`], [`Breaker::stats`],
//!   [`Breaker::force_open`], [`Breaker::reset`], [`Breaker::set_enabled`] and the
//!   `FAILFAST_DISABLED` environment variable.
//! - Ready-made observers (the [`observe`] module): with the `tracing` feature,
//!   `observe::Tracing` logs transitions, refusals and failures; with the `metrics` feature,
//!   `observe::Metrics` counts calls and transitions and gauges each circuit's state for any
//!   `metrics` exporter; with the `serde` feature, [`State`], [`Stats`] and [`Transition`]
//!   serialize, for health endpoints.
//! - Time: an injectable [`Clock`]; [`ManualClock`] makes tests deterministic.
//! - Sharing: a [`Store`] shares circuits by name, in the process ([`MemoryStore`]) or, with
//!   the `redis` feature, across a fleet of processes and hosts (`RedisStore`); the
//!   [`Registry`] shares breakers by name.
//! - Retries that compose with the breaker: [`retry::Retry`] (waits fixed or exponential,
//!   jitter, a retry budget, answers retried, hints), and call time-outs that count as
//!   failures, with the `tokio` feature (`Breaker::run_within`, [`TimedOut`], `TokioClock`
//!   for breakers that follow tokio's paused time).
//! - Tower middleware, with the `tower` feature: `service::FailFastLayer` guards axum routes,
//!   hyper clients, tonic channels and any other tower service (see the `service` module).
//!
//! # Cost
//! An admitted call in a closed circuit costs two atomic loads and a per-thread counter; a
//! refused call costs the same and reads no clock: an open period is ended by an alarm
//! ([`Clock::set_alarm`]) rather than by checking the time on every call. Calls on different
//! threads never write to the same memory while the circuit is steady.

// On docs.rs, each item that needs a feature says which.
#![cfg_attr(docsrs, feature(doc_cfg))]

#[doc(hidden)]
#[path = "private/mod.rs"]
pub mod __private;

/// Called by `#[failfast]` expansions that retry or time out an async function: a compile
/// error, at the option, without the `tokio` feature.
#[doc(hidden)]
#[cfg(feature = "tokio")]
#[macro_export]
macro_rules! __failfast_needs_tokio {
    () => {};
}

/// Called by `#[failfast]` expansions that retry or time out an async function: a compile
/// error, at the option, without the `tokio` feature.
#[doc(hidden)]
#[cfg(not(feature = "tokio"))]
#[macro_export]
macro_rules! __failfast_needs_tokio {
    () => {
        ::core::compile_error!(
            "`retry` and `call_timeout` on an async function wait on tokio's timer: enable \
             failfast's `tokio` feature, `features = [\"tokio\"]` on the failfast dependency"
        );
    };
}
mod asked;
mod background;
mod backoff;
mod breaker;
mod builder;
mod circuit;
mod clock;
mod delivery;
mod error;
mod event;
mod half_open;
mod name;
mod nested;
pub mod observe;
mod permit;
mod policy;
mod registry;
pub mod retry;
mod run;
#[cfg(feature = "tower")]
pub mod service;
mod state;
mod stats;
mod store;
mod sync;
mod thread_counts;
mod timer;
mod window;

pub use backoff::Backoff;
pub use breaker::Breaker;
pub use builder::{Builder, DISABLED_ENV};
#[cfg(feature = "tokio")]
pub use clock::TokioClock;
pub use clock::{Alarm, Clock, ManualClock, SystemClock};
pub use error::{ConfigError, Error, Open, TimedOut};
pub use event::{BreakerInfo, Events, Listener, Reason, Transition};
pub use failfast_macros::failfast;
pub use name::Name;
pub use permit::Permit;
pub use policy::TripPolicy;
pub use registry::Registry;
pub use run::Run;
pub use state::{Phase, State};
pub use stats::Stats;
pub use store::{Circuit, MemoryStore, ProbeClaim, Store};
#[cfg(feature = "redis")]
pub use store::{RedisStore, RedisStoreBuilder, RedisStoreError};
pub use window::Window;
