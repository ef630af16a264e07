//! The load test of the visits app: goose (the Rust Locust) drives it through three phases,
//! Redis healthy, paused and resumed, and HDR histograms summarise each phase and each second.
//! Run it once with the breaker and once without to see what the breaker saves.

mod chart;
mod samples;

use std::sync::Arc;
use std::time::{Duration, Instant};

use goose::prelude::*;

use examples::local_redis::{LocalRedis, LocalRedisError};
use examples::visits::{self, StartError};

pub use chart::draw;
pub use samples::{Answer, Recorder, Sample, Summary};

/// How hard and how long to drive the app.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// Simulated users, each sending its next request as soon as the last one is answered.
    pub users: usize,
    /// How long each phase lasts: whole seconds, at least one (goose counts its run time so).
    pub phase: Duration,
    /// The app's Redis timeout.
    pub redis_timeout: Duration,
    /// The app's open period.
    pub open_for: Duration,
}

impl Default for LoadConfig {
    fn default() -> Self {
        LoadConfig {
            users: 32,
            phase: Duration::from_secs(10),
            redis_timeout: Duration::from_millis(100),
            open_for: Duration::from_secs(5),
        }
    }
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The run's Redis did not start.
    #[error(transparent)]
    Redis(#[from] LocalRedisError),
    /// The app did not start.
    #[error(transparent)]
    App(#[from] StartError),
    /// goose failed.
    #[error("goose: {0}")]
    Goose(String),
    /// Redis could not be paused or resumed.
    #[error("pausing Redis: {0}")]
    Pause(#[from] std::io::Error),
    /// The phase is not a whole number of seconds.
    #[error("a phase must be a whole number of seconds, at least 1, not {0:?}")]
    Phase(Duration),
    /// goose stopped before the run's end (Ctrl-C): its figures would mislead.
    #[error("the run was interrupted after {0:.1?}")]
    Interrupted(Duration),
}

impl From<GooseError> for LoadError {
    fn from(e: GooseError) -> Self {
        LoadError::Goose(e.to_string())
    }
}

/// The start of the run, while goose starts its users, which the healthy phase leaves out.
pub const WARM_UP: Duration = Duration::from_secs(1);

/// The three phases: healthy from [`WARM_UP`] to the pause, paused until the resume, resumed for
/// one phase's length after it (goose may run on a little longer while its users stop).
pub const PHASES: [&str; 3] = ["healthy", "paused", "resumed"];

/// What one run saw.
#[derive(Debug, Clone)]
pub struct Run {
    /// Whether the breaker guarded Redis.
    pub breaker: bool,
    /// Each phase's summary, in the order of [`PHASES`]; a request belongs to the phase in which
    /// it was answered.
    pub phases: [Summary; 3],
    /// One summary per second of the run.
    pub per_second: Vec<Summary>,
    /// When Redis was paused, since the run started.
    pub paused_at: Duration,
    /// When Redis was resumed, since the run started.
    pub resumed_at: Duration,
    /// How long after the resume the first fresh count was answered.
    pub healed_after: Option<Duration>,
    /// Every request, in the order they completed.
    pub samples: Vec<Sample>,
}

/// Drives a fresh app, on a fresh Redis of its own, through the three phases.
pub async fn run(config: &LoadConfig, breaker: bool) -> Result<Run, LoadError> {
    if config.phase < Duration::from_secs(1) || config.phase.subsec_nanos() != 0 {
        return Err(LoadError::Phase(config.phase));
    }
    let redis = LocalRedis::start()?;
    let mut app_config = visits::Config::new(redis.url());
    app_config.addr.set_port(0);
    app_config.redis_timeout = config.redis_timeout;
    app_config.open_for = config.open_for;
    app_config.breaker = breaker;
    let app = visits::start(app_config).await?;

    let recorder = Arc::new(Recorder::new());
    let started = tokio::time::Instant::now();
    let phase = config.phase;
    let outage = {
        let recorder = recorder.clone();
        tokio::spawn(async move {
            tokio::time::sleep_until(started + phase).await;
            redis.pause()?;
            let paused_at = recorder.elapsed();
            tokio::time::sleep_until(started + 2 * phase).await;
            redis.resume()?;
            let resumed_at = recorder.elapsed();
            Ok::<_, std::io::Error>((redis, paused_at, resumed_at))
        })
    };

    let users = config.users;
    GooseAttack::initialize_with_config(Default::default())?
        .register_scenario(scenario!("Visitor").register_transaction(visit(recorder.clone())))
        .set_default(
            GooseDefault::Host,
            format!("http://{}", app.addr()).as_str(),
        )?
        .set_default(GooseDefault::Users, users)?
        .set_default(GooseDefault::IncreaseRate, users.to_string().as_str())?
        .set_default(GooseDefault::RunTime, (3 * phase).as_secs() as usize)?
        .set_default(GooseDefault::NoTelnet, true)?
        .set_default(GooseDefault::Quiet, 1)?
        .set_default(GooseDefault::NoPrintMetrics, true)?
        .set_default(GooseDefault::NoErrorSummary, true)?
        .set_default(GooseDefault::NoResetMetrics, true)?
        .execute()
        .await?;

    let ended = recorder.elapsed();
    if ended < 3 * phase {
        // Dropping the task drops its Redis, which kills it, paused or not.
        outage.abort();
        return Err(LoadError::Interrupted(ended));
    }
    let (redis, paused_at, resumed_at) = outage
        .await
        .map_err(|e| LoadError::Goose(format!("the outage task: {e}")))??;
    app.stop().await;
    drop(redis);

    let samples = recorder.samples();
    let phases = [
        Summary::of(&samples, WARM_UP, paused_at),
        Summary::of(&samples, paused_at, resumed_at),
        Summary::of(&samples, resumed_at, ended.min(resumed_at + phase)),
    ];
    let healed_after = samples
        .iter()
        .filter(|s| s.at > resumed_at && s.answer == Answer::Fresh)
        .map(|s| s.at - resumed_at)
        .min();
    Ok(Run {
        breaker,
        phases,
        per_second: Summary::per_second(&samples, ended),
        paused_at,
        resumed_at,
        healed_after,
        samples,
    })
}

/// The one thing a visitor does: `GET /`, timed, its answer classified.
fn visit(recorder: Arc<Recorder>) -> Transaction {
    let get: TransactionFunction = Arc::new(move |user| {
        let recorder = recorder.clone();
        Box::pin(async move {
            let began = Instant::now();
            let answer = match user.get("/").await?.response {
                Ok(response) => {
                    let answer = match response.status().as_u16() {
                        200 if response.headers().contains_key("x-stale") => Answer::Stale,
                        200 => Answer::Fresh,
                        503 => Answer::Unavailable,
                        _ => Answer::Error,
                    };
                    match response.bytes().await {
                        Ok(_) => answer,
                        Err(_) => Answer::Error,
                    }
                }
                Err(_) => Answer::Error,
            };
            recorder.record(began, answer);
            Ok(())
        })
    });
    Transaction::new(get).set_name("GET /")
}
