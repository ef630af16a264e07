//! The client's retries: each call retried through the scenario's circuit, and what every
//! attempt came to.
//!
//! The policy is Tenacity's walkthrough done with failfast: three attempts, exponential waits,
//! only the errors that count against the circuit retried (a `404` is an answer, and is
//! returned at once), a `429`'s `Retry-After` honoured, and an empty `204` retried as
//! `retry_if_result` would. Each attempt is a call through the breaker, so an open circuit
//! stops the retrying at once.

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use failfast::retry::{Attempt, Retry, RetryError, Wait};
use failfast::{ConfigError, Error, Name, Stats};

use super::Scenario;
use super::client::{Client, UpstreamError};
use super::story::Verdict;
use crate::lock;

/// The story's retry policy: three attempts, waiting 50 ms and then 100 ms (up to 2 s, so that a
/// `Retry-After: 1` is honoured rather than given up on).
pub fn policy() -> Result<Retry, ConfigError> {
    Retry::builder()
        .attempts(3)
        .wait(Wait::exponential(
            Duration::from_millis(50),
            Duration::from_secs(2),
        ))
        .build()
}

/// One attempt of a retried call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tried {
    /// What it came to, in a few words: `200`, `204`, `500`, `429, Retry-After 1 s`, ...
    pub answer: String,
    /// What the breaker did with it.
    pub verdict: Verdict,
    /// The wait before the next attempt, or `None` if the call ended with this one.
    pub next_in: Option<Duration>,
}

impl Client {
    /// Calls the scenario's route as [`Client::get`] does, retried by `retry`: the errors that
    /// [count](UpstreamError::counts) and empty answers are retried, a `429` after its
    /// `Retry-After`. Returns the call's result and every attempt, in order.
    pub async fn get_retrying(
        &self,
        scenario: Scenario,
        retry: &Retry,
    ) -> (Result<Option<String>, UpstreamError>, Vec<Tried>) {
        let breaker = self.breaker(scenario);
        let log = Mutex::new(Log {
            before: breaker.stats(),
            tried: Vec::new(),
        });
        let result = retry
            .when(UpstreamError::counts)
            .when_ok(Option::is_none)
            .hint(UpstreamError::retry_after)
            .before_attempt(|_, _: &Name| lock(&log).before = breaker.stats())
            .after_attempt(|attempt: &Attempt<'_, Option<String>, UpstreamError>| {
                let mut log = lock(&log);
                let verdict = Verdict::between(&log.before, &breaker.stats());
                log.tried.push(Tried {
                    answer: answer(attempt.outcome),
                    verdict,
                    next_in: attempt.next_in,
                });
            })
            .run(breaker, || self.fetch(scenario))
            .await;
        let tried = log.into_inner().unwrap_or_else(|p| p.into_inner()).tried;
        (result.map_err(RetryError::into_error), tried)
    }
}

/// What the hooks have seen of a retried call so far.
struct Log {
    /// The circuit's counts before the attempt under way.
    before: Stats,
    tried: Vec<Tried>,
}

/// An attempt's outcome in a few words.
fn answer(outcome: &Result<Option<String>, Error<UpstreamError>>) -> String {
    match outcome {
        Ok(Some(_)) => "200".to_owned(),
        Ok(None) => "204".to_owned(),
        Err(Error::Open(_)) => "refused".to_owned(),
        Err(Error::Inner(UpstreamError::Status(status))) => status.to_string(),
        Err(Error::Inner(UpstreamError::RateLimited {
            retry_after: Some(wait),
        })) => format!("429, Retry-After {} s", wait.as_secs()),
        Err(Error::Inner(e)) => e.to_string(),
    }
}

impl fmt::Display for Tried {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}, {}", self.answer, self.verdict)?;
        match self.next_in {
            Some(wait) => write!(f, "; retrying in {} ms", wait.as_millis()),
            None => Ok(()),
        }
    }
}
