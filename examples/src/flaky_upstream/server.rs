//! The mock upstream: an axum server with one route per [`Scenario`], misbehaving on purpose.
//!
//! Its chance is seeded, so that the same configuration gives the same answers in the same
//! order, and it counts the requests that reach each route: what a refused call never does.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::lock;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::Scenario;

/// How the mock upstream misbehaves.
#[derive(Debug, Clone)]
pub struct UpstreamConfig {
    /// Seeds the chance of `/random_error` and `/empty_response`.
    pub seed: u64,
    /// The share of `/random_error` requests answered `500` (default 0.5).
    pub error_rate: f64,
    /// How long `/timeout` takes to answer (default 1 s): longer than the client waits.
    pub slow_for: Duration,
    /// How many `/rate_limit` requests it answers per window (default 3); the others get `429`.
    pub rate_limit: u32,
    /// The rate limit's window, in whole seconds as `Retry-After` counts them (default 1 s).
    pub rate_window: Duration,
    /// The share of `/empty_response` requests answered `204 No Content` (default 0.5).
    pub empty_rate: f64,
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        UpstreamConfig {
            seed: 13,
            error_rate: 0.5,
            slow_for: Duration::from_secs(1),
            rate_limit: 3,
            rate_window: Duration::from_secs(1),
            empty_rate: 0.5,
        }
    }
}

/// A running mock upstream on 127.0.0.1; [`stop`](Upstream::stop) shuts it down.
#[derive(Debug)]
pub struct Upstream {
    addr: SocketAddr,
    routes: Arc<Routes>,
    shutdown: oneshot::Sender<()>,
    server: JoinHandle<io::Result<()>>,
}

/// Starts the mock upstream on a free loopback port, on the current tokio runtime.
pub async fn start(config: UpstreamConfig) -> io::Result<Upstream> {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let addr = listener.local_addr()?;
    let routes = Arc::new(Routes::new(config));
    let app = Router::new()
        .route(Scenario::RandomError.path(), get(random_error))
        .route(Scenario::Timeout.path(), get(timeout))
        .route(Scenario::NotFound.path(), get(not_found))
        .route(Scenario::RateLimit.path(), get(rate_limit))
        .route(Scenario::EmptyResponse.path(), get(empty_response))
        .with_state(routes.clone());
    let (shutdown, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .into_future(),
    );
    Ok(Upstream {
        addr,
        routes,
        shutdown,
        server,
    })
}

impl Upstream {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its base URL, such as `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How many requests have reached the scenario's route so far.
    pub fn hits(&self, scenario: Scenario) -> u64 {
        self.routes.hits[scenario.index()].load(Ordering::SeqCst)
    }

    /// Stops taking connections, lets the requests under way finish, and returns.
    pub async fn stop(self) {
        let _ = self.shutdown.send(());
        let _ = self.server.await;
    }
}

/// What the routes share: the configuration, the chance, the rate limit and the hit counts.
#[derive(Debug)]
struct Routes {
    config: UpstreamConfig,
    /// One generator per route, so that one route's answers do not depend on another's traffic.
    random_error: Mutex<fastrand::Rng>,
    empty_response: Mutex<fastrand::Rng>,
    /// When the rate limit's window started, and how many requests it has answered.
    window: Mutex<(Option<Instant>, u32)>,
    hits: [AtomicU64; Scenario::ALL.len()],
}

impl Routes {
    fn new(config: UpstreamConfig) -> Routes {
        Routes {
            random_error: Mutex::new(fastrand::Rng::with_seed(config.seed)),
            empty_response: Mutex::new(fastrand::Rng::with_seed(config.seed.wrapping_add(1))),
            window: Mutex::new((None, 0)),
            hits: Default::default(),
            config,
        }
    }

    fn hit(&self, scenario: Scenario) {
        self.hits[scenario.index()].fetch_add(1, Ordering::SeqCst);
    }

    /// Draws from `rng`: whether this request gets the misbehaviour of probability `rate`.
    fn chance(rng: &Mutex<fastrand::Rng>, rate: f64) -> bool {
        lock(rng).f64() < rate
    }

    /// `None` if the request is within the rate limit; otherwise how long until the window ends.
    fn over_limit(&self) -> Option<Duration> {
        let now = Instant::now();
        let mut window = lock(&self.window);
        let (started, answered) = &mut *window;
        let start = match *started {
            Some(start) if now.duration_since(start) < self.config.rate_window => start,
            _ => {
                *answered = 0;
                *started.insert(now)
            }
        };
        if *answered < self.config.rate_limit {
            *answered += 1;
            None
        } else {
            Some(self.config.rate_window - now.duration_since(start))
        }
    }
}

/// The JSON bodies, as the walkthrough's Flask app writes them.
#[derive(Serialize)]
struct Message {
    message: &'static str,
}

#[derive(Serialize)]
struct Failure {
    error: &'static str,
}

fn success() -> Response {
    axum::Json(Message { message: "Success" }).into_response()
}

fn failure(status: StatusCode, error: &'static str) -> Response {
    (status, axum::Json(Failure { error })).into_response()
}

async fn random_error(State(routes): State<Arc<Routes>>) -> Response {
    routes.hit(Scenario::RandomError);
    if Routes::chance(&routes.random_error, routes.config.error_rate) {
        failure(StatusCode::INTERNAL_SERVER_ERROR, "Server error")
    } else {
        success()
    }
}

async fn timeout(State(routes): State<Arc<Routes>>) -> Response {
    routes.hit(Scenario::Timeout);
    tokio::time::sleep(routes.config.slow_for).await;
    axum::Json(Message {
        message: "Delayed response",
    })
    .into_response()
}

async fn not_found(State(routes): State<Arc<Routes>>) -> Response {
    routes.hit(Scenario::NotFound);
    failure(StatusCode::NOT_FOUND, "Not found")
}

async fn rate_limit(State(routes): State<Arc<Routes>>) -> Response {
    routes.hit(Scenario::RateLimit);
    match routes.over_limit() {
        None => success(),
        Some(until_next_window) => {
            // Retry-After counts whole seconds: round up, so a client that honours it is on time.
            let secs = until_next_window.as_secs_f64().ceil().max(1.0) as u64;
            let mut response = failure(StatusCode::TOO_MANY_REQUESTS, "Rate limit exceeded");
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, secs.into());
            response
        }
    }
}

async fn empty_response(State(routes): State<Arc<Routes>>) -> Response {
    routes.hit(Scenario::EmptyResponse);
    if Routes::chance(&routes.empty_response, routes.config.empty_rate) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        success()
    }
}
