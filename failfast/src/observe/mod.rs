//! Watching breakers from outside: ready-made [`Listener`](crate::Listener)s that log with
//! `tracing` and count with `metrics`, and the `serde` forms of what a breaker reports.
//!
//! | feature   | what it adds |
//! |-----------|--------------|
//! | `tracing` | `observe::Tracing`: logs each transition (`WARN` when a circuit opens, `INFO` when it probes or closes), the first refusal after each opening at `DEBUG` and the others at `TRACE`, and each counted failure at `DEBUG` |
//! | `metrics` | `observe::Metrics`: the counters `failfast_calls_total{circuit,outcome}` and `failfast_transitions_total{circuit,to}`, and the gauge `failfast_state{circuit,state}`, for any exporter of the `metrics` facade |
//! | `serde`   | `Serialize` and `Deserialize` for `State`, `Stats`, `Transition`, `Phase`, `Reason` and `Name`, with durations in whole milliseconds |
//!
//! Both listeners are installed as any other: for every breaker of a registry, those of
//! `#[failfast("name", ..)]` included, with `Registry::global().add_listener(..)` at start-up,
//! before the first guarded call; for one breaker, with [`Builder::listener`](crate::Builder::listener).
//! Nothing is logged or counted for breakers without them, whatever features are on, and they
//! cost those breakers nothing. A listener says which events it wants
//! ([`Listener::hears`](crate::Listener::hears)): `Tracing` does not want successes, so a
//! breaker logged with it pays nothing more for a successful call. Each breaker gets a
//! listener of its own ([`Listener::attach`](crate::Listener::attach)), which keeps what it
//! needs of its circuit (whether it has refused a call since it opened; the handles of its
//! metrics), so an event costs no look-up by name.
//!
//! Both report what the process they run in sees. With a store shared by several processes
//! (`RedisStore`), each logs and counts the transitions its copy of the circuit goes through,
//! those made elsewhere included ([`Reason::Remote`](crate::Reason::Remote): its callers are
//! refused too); for a fleet-wide count of openings, take the `max` across instances, not the
//! sum.
//!
//! For a health endpoint, [`Registry::breakers`](crate::Registry::breakers) lists every
//! breaker with its [`state`](crate::Breaker::state) and [`stats`](crate::Breaker::stats),
//! which serialize, with the `serde` feature, as
//!
//! | type | JSON |
//! |------|------|
//! | [`State`](crate::State) | `{"phase":"closed"}`, `{"phase":"open","retry_in_ms":1500}`, `{"phase":"half_open"}` |
//! | [`Phase`](crate::Phase) | `"closed"`, `"open"`, `"half_open"` |
//! | [`Stats`](crate::Stats) | `{"calls":2,"successes":1,"failures":1,"ignored":0,"slow":0,"rejected":1,"transitions":1}` |
//! | [`Transition`](crate::Transition) | `{"name":"ws","from":"closed","to":"open","reason":{"kind":"consecutive_failures","value":1},"open_for_ms":9000}` |
//! | [`Reason`](crate::Reason) | `{"kind":"failure_rate","value":0.5}`, `{"kind":"open_elapsed"}` |
//! | [`Name`](crate::Name) | `"sales_api"` |
//!
//! Durations are whole milliseconds, rounded up, so that a circuit with time left to wait never
//! shows `0`; the keys that hold them end in `_ms`.

#[cfg(feature = "metrics")]
mod metrics;
#[cfg(feature = "serde")]
pub(crate) mod serde;
#[cfg(feature = "tracing")]
mod tracing;

#[cfg(feature = "metrics")]
pub use self::metrics::Metrics;
#[cfg(feature = "tracing")]
pub use self::tracing::Tracing;
