//! The app's HTTP routes.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use failfast::{Phase, State as CircuitState};
use serde::Serialize;

use super::{App, VisitError};
use crate::lock;

pub(super) fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(visit))
        .route("/metrics", get(metrics))
        .route("/health", get(health))
        .with_state(app)
}

/// Counts the visit; when Redis can't, answers with the last count seen, marked stale.
async fn visit(State(app): State<Arc<App>>) -> Response {
    let counted = app.counter.incr().await;
    match &counted {
        Ok(_) => *lock(&app.last_failure) = None,
        Err(VisitError::Open(_)) => {} // Redis was not asked: the last failure still stands
        Err(e) => *lock(&app.last_failure) = Some(e.to_string()),
    }
    match counted {
        Ok(count) => {
            app.last_seen.fetch_max(count, Ordering::Relaxed);
            app.metrics.answered("fresh");
            format!("Hello! This page has been visited {count} times.\n").into_response()
        }
        Err(e) if e.is_outage() || matches!(e, VisitError::Open(_)) => stale(&app, &e),
        Err(e) => {
            tracing::error!(error = %e, "visit not counted");
            app.metrics.answered("error");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("visit not counted: {e}\n"),
            )
                .into_response()
        }
    }
}

/// The fallback: the last count this process saw, or 503 before it saw any.
fn stale(app: &App, e: &VisitError) -> Response {
    let why = match e {
        VisitError::Open(open) if open.retry_in().is_zero() => {
            "circuit open, Redis not asked; a probe is about to ask it".to_owned()
        }
        VisitError::Open(open) => format!(
            "circuit open, Redis not asked; retry in {:.1} s",
            open.retry_in().as_secs_f64()
        ),
        failed => format!("Redis failed: {failed}"),
    };
    tracing::debug!(%why, "answering stale");
    match app.last_seen.load(Ordering::Relaxed) {
        0 => {
            app.metrics.answered("unavailable");
            let retry_after = match e {
                VisitError::Open(open) => open.retry_after_secs(),
                _ => 1,
            };
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, retry_after.to_string())],
                format!("The visit count is unavailable ({why}).\n"),
            )
                .into_response()
        }
        count => {
            app.metrics.answered("stale");
            (
                [("x-stale", "true")],
                format!("Hello! This page has been visited {count} times (stale: {why}).\n"),
            )
                .into_response()
        }
    }
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    let body = app.metrics.render(&app.breakers(), &app.store);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    redis_store_connected: bool,
    /// Why the last visit that asked Redis was not counted, until one is.
    last_failure: Option<String>,
    circuits: Vec<CircuitHealth>,
}

#[derive(Serialize)]
struct CircuitHealth {
    name: String,
    state: &'static str,
    retry_in_ms: Option<u128>,
    enabled: bool,
}

/// Every circuit's state. The app is `degraded` while any circuit is not closed, or while the
/// last visit that asked Redis failed (which a disabled breaker cannot show): it answers, but
/// from its fallback.
async fn health(State(app): State<Arc<App>>) -> axum::Json<Health> {
    let circuits: Vec<CircuitHealth> = app
        .breakers()
        .into_iter()
        .map(|breaker| {
            let state = breaker.state();
            CircuitHealth {
                name: breaker.name().to_string(),
                state: phase_name(state.phase()),
                retry_in_ms: match state {
                    CircuitState::Open { retry_in } => Some(retry_in.as_millis()),
                    _ => None,
                },
                enabled: breaker.is_enabled(),
            }
        })
        .collect();
    let last_failure = lock(&app.last_failure).clone();
    let degraded = last_failure.is_some() || circuits.iter().any(|c| c.state != "closed");
    axum::Json(Health {
        status: if degraded { "degraded" } else { "ok" },
        redis_store_connected: app.store.is_connected(),
        last_failure,
        circuits,
    })
}

/// The phase's name in `/health` and `/metrics`.
pub(super) fn phase_name(phase: Phase) -> &'static str {
    match phase {
        Phase::Closed => "closed",
        Phase::Open => "open",
        Phase::HalfOpen => "half_open",
    }
}
