//! The story: every scenario in turn, call by call, with what the breaker did and why.
//!
//! Each scenario makes [`Config::calls`] calls in a row. If that leaves its circuit open, the
//! story waits for the open period to end and makes [`Config::calls_after_wait`] more: the
//! first of them is the half-open probe, which closes the circuit or opens it again.
//!
//! With a [`Config::retry`] policy, each call is retried ([`Client::get_retrying`]), and its
//! step lists every attempt: the same scenarios show where retries help (`500`, `429`, `204`),
//! where the circuit cuts them short (answers that time out), and what they must not touch
//! (`404`).

use std::fmt;
use std::time::Duration;

use failfast::retry::Retry;
use failfast::{ConfigError, Phase, Reason, State, Stats, Transition};

use super::Scenario;
use super::client::{Client, ClientConfig, ClientError, UpstreamError};
use super::retries::{self, Tried};
use super::server::{self, Upstream, UpstreamConfig};

/// How the story runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// How the mock upstream misbehaves.
    pub upstream: UpstreamConfig,
    /// How the client calls and its circuits trip.
    pub client: ClientConfig,
    /// Calls per scenario before waiting for an open circuit (default 6).
    pub calls: u32,
    /// Calls after the open period, the probe first (default 2).
    pub calls_after_wait: u32,
    /// How each call is retried, if it is (default: not retried).
    pub retry: Option<Retry>,
}

impl Config {
    /// The default story, each call retried by [`retries::policy`]. Its circuits open after as
    /// many failures in a row as a call has attempts (as `#[failfast(retry = N)]` does), so that
    /// a call whose retries succeed never opens one, and a call that fails every attempt does.
    pub fn retrying() -> Result<Config, ConfigError> {
        Ok(Config::default().with_retry(retries::policy()?))
    }

    /// This story, each call retried by `retry`, with circuits that open after
    /// `retry.attempts()` failures in a row.
    pub fn with_retry(mut self, retry: Retry) -> Config {
        self.client.threshold = retry.attempts();
        self.retry = Some(retry);
        self
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            upstream: UpstreamConfig::default(),
            client: ClientConfig::default(),
            calls: 6,
            calls_after_wait: 2,
            retry: None,
        }
    }
}

/// Why the story could not run.
#[derive(Debug, thiserror::Error)]
pub enum StoryError {
    /// The mock upstream could not listen.
    #[error("mock upstream: {0}")]
    Upstream(#[from] std::io::Error),
    /// The client could not be made.
    #[error(transparent)]
    Client(#[from] ClientError),
}

/// What the breaker did with a call, read from its counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The call ran and succeeded.
    Success,
    /// The call ran and its error counted against the circuit.
    Failure,
    /// The call ran and its error did not count.
    Ignored,
    /// The circuit refused the call: the upstream was not called.
    Refused,
}

impl Verdict {
    /// What the breaker did with the one call made between the counts `before` and `after`.
    pub(super) fn between(before: &Stats, after: &Stats) -> Verdict {
        if after.rejected > before.rejected {
            Verdict::Refused
        } else if after.failures > before.failures {
            Verdict::Failure
        } else if after.ignored > before.ignored {
            Verdict::Ignored
        } else {
            Verdict::Success
        }
    }
}

/// One thing that happened in a scenario, with the transitions it caused.
#[derive(Debug)]
pub enum Step {
    /// A call through the scenario's circuit.
    Call {
        /// Its number in the scenario, from 1.
        n: u32,
        /// Whether it was the half-open probe.
        probe: bool,
        /// What the client returned.
        result: Result<Option<String>, UpstreamError>,
        /// What the breaker did with it (with its last attempt, if it was retried).
        verdict: Verdict,
        /// Its attempts, in order, when the story retries; empty when it does not.
        attempts: Vec<Tried>,
        /// The transitions of the circuit that followed it.
        transitions: Vec<Transition>,
    },
    /// The story waited for the open period to end.
    Waited {
        /// How long.
        waited: Duration,
        /// The transitions of the circuit meanwhile (to half-open).
        transitions: Vec<Transition>,
    },
}

impl Step {
    /// The transitions that followed the step.
    pub fn transitions(&self) -> &[Transition] {
        match self {
            Step::Call { transitions, .. } | Step::Waited { transitions, .. } => transitions,
        }
    }
}

/// What happened in one scenario.
#[derive(Debug)]
pub struct ScenarioReport {
    /// The scenario.
    pub scenario: Scenario,
    /// What happened, in order.
    pub steps: Vec<Step>,
    /// The circuit's counts at the end: `calls` ran, `rejected` were refused. A retried call
    /// counts once per attempt.
    pub stats: Stats,
    /// How many requests reached the upstream's route.
    pub hits: u64,
    /// The circuit's phase at the end.
    pub phase: Phase,
    /// Why the breaker did what it did, in one line.
    pub why: String,
}

impl ScenarioReport {
    /// How many calls the story made (retried ones once each).
    pub fn calls(&self) -> usize {
        self.steps
            .iter()
            .filter(|step| matches!(step, Step::Call { .. }))
            .count()
    }

    /// How many calls got an answer with something in it (`200`).
    pub fn answered(&self) -> usize {
        self.steps
            .iter()
            .filter(|step| {
                matches!(
                    step,
                    Step::Call {
                        result: Ok(Some(_)),
                        ..
                    }
                )
            })
            .count()
    }

    /// The `Retry-After` values of the scenario's `429` answers, in order.
    pub fn retry_afters(&self) -> Vec<Duration> {
        self.steps
            .iter()
            .filter_map(|step| match step {
                Step::Call {
                    result:
                        Err(UpstreamError::RateLimited {
                            retry_after: Some(wait),
                        }),
                    ..
                } => Some(*wait),
                _ => None,
            })
            .collect()
    }

    /// Every transition of the circuit, in order.
    pub fn transitions(&self) -> impl Iterator<Item = &Transition> {
        self.steps.iter().flat_map(Step::transitions)
    }
}

/// What the story tells its caller as it goes, to print it as it happens.
#[derive(Debug)]
pub enum Progress<'a> {
    /// A scenario begins.
    Started(Scenario),
    /// Something happened in it.
    Step(&'a Step),
    /// It ended.
    Finished(&'a ScenarioReport),
}

/// What the story says before its first scenario: what the upstream does, and the guarded
/// function that every call goes through ([`GET_SOURCE`](super::client::GET_SOURCE)).
pub fn introduction() -> String {
    let source: String = super::client::GET_SOURCE
        .lines()
        .map(|line| format!("    {line}\n"))
        .collect();
    format!(
        "A mock upstream on 127.0.0.1 misbehaves in five ways, one route each. The client calls \
         each route\nthrough this function, with a circuit per route \
         (examples/src/flaky_upstream/client.rs):\n\n{source}\n\
         `when` counts 5xx, 429, time-outs and transport errors against the circuit; a 404 does \
         not count.\nEach call is printed with what the breaker did, then what it did to the \
         circuit."
    )
}

/// Starts the mock upstream and the client, runs every scenario in order, stops the upstream,
/// and returns one report per scenario. `on_progress` hears each step as it happens.
pub async fn run(
    config: Config,
    mut on_progress: impl FnMut(Progress<'_>),
) -> Result<Vec<ScenarioReport>, StoryError> {
    let upstream = server::start(config.upstream.clone()).await?;
    let client = Client::new(upstream.url(), &config.client)?;
    let mut reports = Vec::new();
    for scenario in Scenario::ALL {
        reports.push(run_scenario(&client, &upstream, scenario, &config, &mut on_progress).await);
    }
    upstream.stop().await;
    Ok(reports)
}

/// Runs one scenario with `client` against `upstream`; see the [module docs](self).
pub async fn run_scenario(
    client: &Client,
    upstream: &Upstream,
    scenario: Scenario,
    config: &Config,
    mut on_progress: impl FnMut(Progress<'_>),
) -> ScenarioReport {
    on_progress(Progress::Started(scenario));
    let breaker = client.breaker(scenario);
    let mut steps = Vec::new();
    let mut record = |step: Step, steps: &mut Vec<Step>| {
        on_progress(Progress::Step(&step));
        steps.push(step);
    };
    for n in 1..=config.calls {
        record(call(client, scenario, n, config).await, &mut steps);
    }
    if let State::Open { retry_in } = breaker.state() {
        let waited = wait_until_not_open(client, scenario, retry_in).await;
        let transitions = client.take_transitions(scenario).await;
        record(
            Step::Waited {
                waited,
                transitions,
            },
            &mut steps,
        );
        for n in config.calls + 1..=config.calls + config.calls_after_wait {
            record(call(client, scenario, n, config).await, &mut steps);
        }
    }
    let stats = breaker.stats();
    let phase = breaker.state().phase();
    let why = match config.retry {
        None => why(scenario, &config.client, &steps, phase),
        Some(_) => why_retried(scenario, &config.client, &steps),
    };
    let report = ScenarioReport {
        scenario,
        steps,
        stats,
        hits: upstream.hits(scenario),
        phase,
        why,
    };
    on_progress(Progress::Finished(&report));
    report
}

/// Makes call `n`, retried if the story retries, and reads what the breaker did with it from
/// its counters.
async fn call(client: &Client, scenario: Scenario, n: u32, config: &Config) -> Step {
    let breaker = client.breaker(scenario);
    let probe = breaker.state().is_half_open();
    let before = breaker.stats();
    let (result, attempts) = match &config.retry {
        Some(retry) => client.get_retrying(scenario, retry).await,
        None => (client.get(scenario).await, Vec::new()),
    };
    let verdict = match attempts.last() {
        Some(last) => last.verdict,
        None => Verdict::between(&before, &breaker.stats()),
    };
    let transitions = client.take_transitions(scenario).await;
    Step::Call {
        n,
        probe,
        result,
        verdict,
        attempts,
        transitions,
    }
}

/// Waits out the open period, `retry_in` from now, and then until the circuit has left it (its
/// timer may fire a moment late), for at most a second more. Returns how long it waited.
async fn wait_until_not_open(client: &Client, scenario: Scenario, retry_in: Duration) -> Duration {
    let start = tokio::time::Instant::now();
    tokio::time::sleep(retry_in).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
    while client.breaker(scenario).state().is_open() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    start.elapsed()
}

/// The one-line explanation of a scenario's outcome.
fn why(scenario: Scenario, client: &ClientConfig, steps: &[Step], phase: Phase) -> String {
    let transitions: Vec<&Transition> = steps.iter().flat_map(Step::transitions).collect();
    let opened = transitions.iter().any(|t| t.to == Phase::Open);
    let ending = match (transitions.last().map(|t| t.reason), phase) {
        (Some(Reason::ProbeFailed), Phase::Open) => {
            "after the open period the probe failed too, so the circuit opened again"
        }
        (_, Phase::Closed) => "after the open period one probe succeeded and closed the circuit",
        _ => "the circuit is still waiting for its probe",
    };
    let threshold = client.threshold;
    match scenario {
        Scenario::RandomError if opened => format!(
            "{threshold} failures (500) in a row opened the circuit, and the calls it refused \
             never reached the upstream; {ending}"
        ),
        Scenario::RandomError => format!(
            "the 500s were scattered, never {threshold} in a row: noise, not an outage, so the \
             circuit stayed closed"
        ),
        Scenario::Timeout => format!(
            "an answer slower than the {} ms timeout counts as a failure; {threshold} in a row \
             opened the circuit, so later calls failed at once instead of waiting; {ending}",
            client.timeout.as_millis()
        ),
        Scenario::NotFound => "404 means the resource does not exist, not that the upstream is \
                               down: ignored, so the circuit stayed closed"
            .to_owned(),
        Scenario::RateLimit if opened => format!(
            "429 counts: the upstream asked for less traffic (Retry-After), and the open circuit \
             sent it none for {} ms; {ending}",
            client.open_for.as_millis()
        ),
        Scenario::RateLimit => "the calls stayed within the rate limit".to_owned(),
        Scenario::EmptyResponse => "204 is an answer with nothing in it, not a failure: the \
                                    circuit stayed closed (retrying an empty answer, as Tenacity's \
                                    retry_if_result does, is a job for retries, not the breaker)"
            .to_owned(),
    }
}

/// The one-line explanation of a scenario's outcome when its calls are retried.
fn why_retried(scenario: Scenario, client: &ClientConfig, steps: &[Step]) -> String {
    let calls = || {
        steps.iter().filter_map(|step| match step {
            Step::Call {
                result, attempts, ..
            } => Some((result, attempts)),
            Step::Waited { .. } => None,
        })
    };
    let attempts: usize = calls().map(|(_, attempts)| attempts.len()).sum();
    // Calls answered on a later attempt than the first.
    let rescued = calls()
        .filter(|(result, attempts)| matches!(result, Ok(Some(_))) && attempts.len() > 1)
        .count();
    let opened = steps
        .iter()
        .flat_map(Step::transitions)
        .any(|t| t.to == Phase::Open);
    let threshold = client.threshold;
    match scenario {
        Scenario::RandomError => {
            let mut why = format!(
                "a 500 was retried after a short wait, and {} answered on a later attempt",
                count(rescued as u64, "call was", "calls were")
            );
            if opened {
                why += &format!(
                    "; {threshold} failures in a row still opened the circuit, and retrying \
                     stopped there: no attempt went into the open circuit"
                );
            }
            why
        }
        Scenario::Timeout if opened => format!(
            "retrying cannot help an upstream that does not answer: every attempt timed out and \
             counted, {threshold} in a row opened the circuit, and the retrying stopped; the \
             calls after it were refused on their first attempt, neither retried nor waited for"
        ),
        Scenario::Timeout => "the answers came within the timeout".to_owned(),
        Scenario::NotFound => format!(
            "404 is an answer about the request, not a failure: never retried ({attempts} \
             attempts for {} calls) and never counted",
            calls().count()
        ),
        Scenario::RateLimit => {
            let mut why = format!(
                "a 429 said when to come back (Retry-After); the retry waited that long, and {} \
                 answered on the next attempt",
                count(rescued as u64, "call was", "calls were")
            );
            if !opened {
                why += &format!(
                    ", so the circuit never saw {threshold} failures in a row and stayed closed"
                );
            }
            why
        }
        Scenario::EmptyResponse => format!(
            "an empty 204 was retried, as Tenacity's retry_if_result does, and {} answered on \
             a later attempt; for the circuit an empty answer is a success",
            count(rescued as u64, "call was", "calls were")
        ),
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Success => "success",
            Verdict::Failure => "counted failure",
            Verdict::Ignored => "ignored, not counted",
            Verdict::Refused => "refused, upstream not called",
        })
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Call {
                n,
                probe,
                result,
                verdict,
                attempts,
                ..
            } => {
                let answer = match result {
                    Ok(Some(body)) => format!("200 {body}"),
                    Ok(None) => "204 No Content".to_owned(),
                    Err(UpstreamError::Open(open)) => {
                        format!("refused: retry in {} ms", open.retry_in().as_millis())
                    }
                    Err(e) => e.to_string(),
                };
                let probe = if *probe { " (the probe)" } else { "" };
                write!(f, "  call {n:<2} {answer:<42} {verdict}{probe}")?;
                if attempts.len() > 1 {
                    write!(f, ", after {} attempts", attempts.len())?;
                    for (number, tried) in (1..).zip(attempts) {
                        write!(f, "\n           attempt {number}: {tried}")?;
                    }
                }
            }
            Step::Waited { waited, .. } => write!(
                f,
                "  ... waited {} ms for the open period to end",
                waited.as_millis()
            )?,
        }
        for t in self.transitions() {
            write!(f, "\n           circuit {t}")?;
        }
        Ok(())
    }
}

impl fmt::Display for ScenarioReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.stats;
        let attempts = s.calls + s.rejected;
        let calls = match self.calls() as u64 {
            calls if calls == attempts => format!("{calls} calls"),
            calls => format!("{calls} calls ({attempts} attempts)"),
        };
        writeln!(
            f,
            "  => {calls}, {} answered with a body; {} reached the upstream: {} succeeded, {}, \
             {} ignored, {} refused",
            self.answered(),
            self.hits,
            s.successes,
            count(s.failures, "counted failure", "counted failures"),
            s.ignored,
            s.rejected,
        )?;
        writeln!(
            f,
            "  => {}; the circuit ends {}",
            count(s.transitions, "transition", "transitions"),
            self.phase
        )?;
        write!(f, "  => why: {}", self.why)
    }
}

/// `n` and the word for that many: `1 call was`, `2 calls were`.
fn count(n: impl Into<u64>, one: &str, many: &str) -> String {
    match n.into() {
        1 => format!("1 {one}"),
        n => format!("{n} {many}"),
    }
}

/// A table of the reports, one line per scenario: what the client saw (calls, those answered
/// with a body, and attempts, which are more than calls when retried), what the breaker did
/// with the attempts, and what reached the upstream.
pub fn summary(reports: &[ScenarioReport]) -> String {
    let mut table = format!(
        "{:<16} {:>5} {:>8} {:>8} {:>4} {:>7} {:>7} {:>7} {:>11} {:>8}  circuit\n",
        "scenario",
        "calls",
        "answered",
        "attempts",
        "ok",
        "failed",
        "ignored",
        "refused",
        "transitions",
        "upstream"
    );
    for r in reports {
        let s = &r.stats;
        table += &format!(
            "{:<16} {:>5} {:>8} {:>8} {:>4} {:>7} {:>7} {:>7} {:>11} {:>8}  {}\n",
            r.scenario.path(),
            r.calls(),
            r.answered(),
            s.calls + s.rejected,
            s.successes,
            s.failures,
            s.ignored,
            s.rejected,
            s.transitions,
            r.hits,
            r.phase,
        );
    }
    table
}

impl fmt::Display for Progress<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Progress::Started(scenario) => {
                write!(f, "\n{scenario} (circuit `{}`)", scenario.circuit())
            }
            Progress::Step(step) => step.fmt(f),
            Progress::Finished(report) => report.fmt(f),
        }
    }
}
