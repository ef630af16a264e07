//! The client: one guarded call, with one circuit per scenario.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use failfast::{Breaker, ConfigError, Transition, TripPolicy, failfast};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

use super::Scenario;
use crate::lock;

/// Why a call to the upstream did not give an answer.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The upstream answered with a status the client did not expect (`404`, `500`, ...).
    #[error("HTTP {0}")]
    Status(u16),
    /// The upstream answered `429 Too Many Requests`. `retry_after` is its `Retry-After`
    /// header in seconds, when it sent one: how long it asks clients to wait, kept for a retry
    /// to honour.
    #[error("HTTP 429, rate limited{}", match retry_after {
        Some(wait) => format!("; Retry-After: {} s", wait.as_secs()),
        None => String::new(),
    })]
    RateLimited {
        /// How long the upstream asks clients to wait, from its `Retry-After` header.
        retry_after: Option<Duration>,
    },
    /// No complete answer within the client's timeout.
    #[error("no answer within {} ms", .0.as_millis())]
    Timeout(Duration),
    /// The request did not get through: connection refused or reset, malformed answer, ...
    #[error("transport: {0}")]
    Transport(#[source] reqwest::Error),
    /// The scenario's circuit is open: the upstream was not called.
    #[error(transparent)]
    Open(#[from] failfast::Open),
}

impl UpstreamError {
    /// Whether the error says the upstream is unwell, and so counts against its circuit (and
    /// is worth retrying): server errors, `429`, timeouts and transport errors. A `404` or
    /// another client error is an answer about the request, not the upstream.
    pub fn counts(&self) -> bool {
        matches!(
            self,
            UpstreamError::Status(500..=599)
                | UpstreamError::RateLimited { .. }
                | UpstreamError::Timeout(_)
                | UpstreamError::Transport(_)
        )
    }

    /// How long the upstream asked clients to wait, if it did: a `429`'s `Retry-After`.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            UpstreamError::RateLimited { retry_after } => *retry_after,
            _ => None,
        }
    }
}

/// [`Client::get`] as it is written in this file: the story prints it first, so that the demo
/// shows the function its calls go through. A test checks that the two stay the same.
pub const GET_SOURCE: &str = concat!(
    "#[failfast(breaker = self.breaker(scenario), when = UpstreamError::counts)]\n",
    "pub async fn get(&self, scenario: Scenario) -> Result<Option<String>, UpstreamError> {\n",
    "    self.fetch(scenario).await\n",
    "}\n",
);

/// Why the client could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The circuits' settings are invalid (a threshold of 0, say).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

/// How the client calls, and how its circuits trip.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// How long a call waits for a whole answer (default 150 ms).
    pub timeout: Duration,
    /// How many counted failures in a row open a circuit (default 2).
    pub threshold: u32,
    /// How long a circuit stays open (default 1 s).
    pub open_for: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            timeout: Duration::from_millis(150),
            threshold: 2,
            open_for: Duration::from_secs(1),
        }
    }
}

/// Calls the upstream, each scenario through a circuit of its own.
pub struct Client {
    http: reqwest::Client,
    base_url: String,
    timeout: Duration,
    circuits: Vec<Circuit>,
}

/// A scenario's breaker, and the transitions its listener has heard.
struct Circuit {
    breaker: Breaker,
    heard: Arc<Mutex<Heard>>,
}

#[derive(Default)]
struct Heard {
    /// How many transitions the listener has heard in all.
    count: u64,
    /// Those not yet taken by [`Client::take_transitions`].
    untaken: Vec<Transition>,
}

impl Client {
    /// A client of the upstream at `base_url` (such as `http://127.0.0.1:41234`).
    pub fn new(base_url: impl Into<String>, config: &ClientConfig) -> Result<Client, ClientError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .no_proxy()
            .build()?;
        let circuits = Scenario::ALL
            .iter()
            .map(|scenario| {
                let heard = Arc::new(Mutex::new(Heard::default()));
                let listener = heard.clone();
                let breaker = Breaker::builder(scenario.circuit())
                    .trip(TripPolicy::consecutive_failures(config.threshold))
                    .open_for(config.open_for)
                    .on_transition(move |t| {
                        let mut heard = lock(&listener);
                        heard.count += 1;
                        heard.untaken.push(t.clone());
                    })
                    .build()?;
                Ok(Circuit { breaker, heard })
            })
            .collect::<Result<_, ConfigError>>()?;
        Ok(Client {
            http,
            base_url: base_url.into(),
            timeout: config.timeout,
            circuits,
        })
    }

    /// Calls the scenario's route: `Some(body)` for `200`, `None` for `204 No Content`.
    ///
    /// The errors that [`UpstreamError::counts`] (server errors, `429`, timeouts, transport
    /// errors) count against the scenario's circuit; other answers (`404`, say) say nothing
    /// about the upstream's health and are returned without counting. While the circuit is
    /// open the upstream is not called, and the call returns [`UpstreamError::Open`] at once.
    ///
    /// An empty answer is a success here: the breaker only asks whether the upstream is
    /// healthy, and it answered. Retrying it, as Tenacity's `retry_if_result` does, is a retry
    /// policy's business: [`Client::get_retrying`].
    #[failfast(breaker = self.breaker(scenario), when = UpstreamError::counts)]
    pub async fn get(&self, scenario: Scenario) -> Result<Option<String>, UpstreamError> {
        self.fetch(scenario).await
    }

    /// One request to the scenario's route, unguarded.
    pub(super) async fn fetch(&self, scenario: Scenario) -> Result<Option<String>, UpstreamError> {
        let url = format!("{}{}", self.base_url, scenario.path());
        let response = self.http.get(url).send().await.map_err(|e| self.error(e))?;
        match response.status() {
            StatusCode::NO_CONTENT => Ok(None),
            StatusCode::TOO_MANY_REQUESTS => Err(UpstreamError::RateLimited {
                retry_after: retry_after(response.headers()),
            }),
            status if status.is_success() => {
                Ok(Some(response.text().await.map_err(|e| self.error(e))?))
            }
            status => Err(UpstreamError::Status(status.as_u16())),
        }
    }

    /// The breaker that guards the scenario.
    pub fn breaker(&self, scenario: Scenario) -> &Breaker {
        &self.circuits[scenario.index()].breaker
    }

    /// The scenario's transitions since the last time they were taken, in order, once its
    /// listener has heard every transition the circuit has made. Transitions reach listeners on
    /// other threads too (the end of an open period is delivered by failfast's event thread),
    /// so this waits for them, up to a second.
    pub async fn take_transitions(&self, scenario: Scenario) -> Vec<Transition> {
        let circuit = &self.circuits[scenario.index()];
        let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
        loop {
            let made = circuit.breaker.stats().transitions;
            {
                let mut heard = lock(&circuit.heard);
                if heard.count >= made || tokio::time::Instant::now() >= deadline {
                    return std::mem::take(&mut heard.untaken);
                }
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    fn error(&self, e: reqwest::Error) -> UpstreamError {
        if e.is_timeout() {
            UpstreamError::Timeout(self.timeout)
        } else {
            UpstreamError::Transport(e)
        }
    }
}

/// The `Retry-After` header in its seconds form. Its other form, an HTTP date, is left out: the
/// mock upstream does not send it.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let secs = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_source_the_story_prints_is_the_guarded_function_as_written() {
        let written: String = GET_SOURCE.lines().map(|l| format!("    {l}\n")).collect();
        assert!(include_str!("client.rs").contains(&written), "{written}");
    }

    #[test]
    fn retry_after_reads_seconds_only() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(RETRY_AFTER, " 2 ".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(2)));
        headers.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&headers), None);
    }
}
