//! The flaky upstream: a mock HTTP server with one route per way an upstream misbehaves, and a
//! client that calls each of them through failfast, to show what the breaker does and why.
//!
//! The routes are the scenarios of a well-known walk through Python's Tenacity: random `500`s,
//! answers slower than the client's timeout, `404`, `429` rate limiting and `204` empty. Tenacity
//! *retries* a failed call; a breaker decides whether to make the call at all. So the client
//! counts `5xx`, timeouts, transport errors and `429` against the circuit, and ignores `404`
//! (the resource does not exist; the upstream is fine) and `204` (an empty answer is an answer).
//! Every scenario has a circuit of its own, so the trips of one do not hide the next one's story.
//!
//! Then the same scenarios again, each call retried through its circuit: retries help where a
//! later attempt can succeed (a scattered `500`, a `429` after its `Retry-After`, an empty `204`
//! retried as Tenacity's `retry_if_result` does), the open circuit cuts them short where none
//! can (answers that time out), and a `404` is never retried.
//!
//! - [`server`]: the mock upstream ([`Upstream`]), which counts the requests that reach it.
//! - [`client`]: the guarded client ([`Client`]) and its error type ([`UpstreamError`]).
//! - [`retries`]: the client's retry policy, and what each attempt of a retried call came to.
//! - [`story`]: runs the scenarios one by one and reports, per scenario, what happened.
//!
//! ```no_run
//! # async fn run() -> Result<(), examples::flaky_upstream::StoryError> {
//! use examples::flaky_upstream::{self, Config};
//!
//! let reports = flaky_upstream::run(Config::default(), |progress| println!("{progress}")).await?;
//! for report in &reports {
//!     println!("{}: {} refused", report.scenario, report.stats.rejected);
//! }
//! # Ok(()) }
//! ```

pub mod client;
pub mod retries;
pub mod server;
pub mod story;

use std::fmt;

pub use client::{Client, ClientConfig, ClientError, UpstreamError};
pub use retries::Tried;
pub use server::{Upstream, UpstreamConfig};
pub use story::{
    Config, Progress, ScenarioReport, Step, StoryError, Verdict, introduction, run, run_scenario,
    summary,
};

/// One way the upstream misbehaves, and the route that shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scenario {
    /// `/random_error`: `500` to a share of the requests, `200` to the others.
    RandomError,
    /// `/timeout`: `200`, but only after longer than the client waits.
    Timeout,
    /// `/not_found`: always `404`.
    NotFound,
    /// `/rate_limit`: `200` up to a number of requests per window, then `429` with
    /// `Retry-After` until the window ends.
    RateLimit,
    /// `/empty_response`: `204 No Content` to a share of the requests, `200` to the others.
    EmptyResponse,
}

impl Scenario {
    /// Every scenario, in the order the story tells them.
    pub const ALL: [Scenario; 5] = [
        Scenario::RandomError,
        Scenario::Timeout,
        Scenario::NotFound,
        Scenario::RateLimit,
        Scenario::EmptyResponse,
    ];

    /// The route that shows it, such as `/random_error`.
    pub fn path(self) -> &'static str {
        match self {
            Scenario::RandomError => "/random_error",
            Scenario::Timeout => "/timeout",
            Scenario::NotFound => "/not_found",
            Scenario::RateLimit => "/rate_limit",
            Scenario::EmptyResponse => "/empty_response",
        }
    }

    /// The name of the circuit that guards it, such as `upstream/random_error`.
    pub fn circuit(self) -> &'static str {
        match self {
            Scenario::RandomError => "upstream/random_error",
            Scenario::Timeout => "upstream/timeout",
            Scenario::NotFound => "upstream/not_found",
            Scenario::RateLimit => "upstream/rate_limit",
            Scenario::EmptyResponse => "upstream/empty_response",
        }
    }

    /// Its position in [`Scenario::ALL`].
    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.path())
    }
}
