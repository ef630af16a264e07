//! The tower layer in an axum router: 503 with Retry-After (or a fallback) while open, without
//! running the handler; a probe after the open period; what counts by status.

use std::sync::Arc;
use std::sync::atomic::{AtomicU16, AtomicU32, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use failfast::service::FailFastLayer;
use failfast::{Breaker, ManualClock};
use tower::ServiceExt;

/// The handler's state: the status it answers, and how often it ran.
#[derive(Clone, Default)]
struct Upstream {
    status: Arc<AtomicU16>,
    runs: Arc<AtomicU32>,
}

async fn handler(State(upstream): State<Upstream>) -> StatusCode {
    upstream.runs.fetch_add(1, Ordering::SeqCst);
    StatusCode::from_u16(upstream.status.load(Ordering::SeqCst)).unwrap()
}

fn manual(name: &'static str) -> (Breaker, ManualClock) {
    let (builder, clock) = tests::manual(name);
    (
        builder
            .open_for(Duration::from_millis(9500))
            .build()
            .unwrap(),
        clock,
    )
}

fn app(upstream: &Upstream, layer_breaker: Breaker) -> Router {
    Router::new()
        .route("/flaky", get(handler))
        .route_layer(FailFastLayer::new(layer_breaker).http())
        .route("/other", get(|| async { "unguarded" }))
        .with_state(upstream.clone())
}

async fn get_status(app: &Router, path: &str) -> (StatusCode, Option<String>, String) {
    let response = app
        .clone()
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = axum::body::to_bytes(response.into_body(), 1 << 16)
        .await
        .unwrap();
    (
        status,
        retry_after,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

#[tokio::test]
async fn a_failing_route_answers_503_until_a_probe_succeeds() {
    let (breaker, clock) = manual("axum_route");
    let upstream = Upstream::default();
    upstream.status.store(200, Ordering::SeqCst);
    let app = app(&upstream, breaker.clone());

    assert_eq!(get_status(&app, "/flaky").await.0, StatusCode::OK);
    upstream.status.store(500, Ordering::SeqCst);
    assert_eq!(
        get_status(&app, "/flaky").await.0,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(upstream.runs.load(Ordering::SeqCst), 2);

    for _ in 0..3 {
        let (status, retry_after, _) = get_status(&app, "/flaky").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(retry_after.as_deref(), Some("10"), "9.5 s, rounded up");
    }
    assert_eq!(
        upstream.runs.load(Ordering::SeqCst),
        2,
        "the handler did not run"
    );
    assert_eq!(
        get_status(&app, "/other").await.2,
        "unguarded",
        "other routes are not guarded"
    );

    clock.advance(Duration::from_millis(9500));
    upstream.status.store(200, Ordering::SeqCst);
    assert_eq!(
        get_status(&app, "/flaky").await.0,
        StatusCode::OK,
        "the probe"
    );
    assert_eq!(upstream.runs.load(Ordering::SeqCst), 3);
    assert!(breaker.state().is_closed());
}

#[tokio::test]
async fn a_fallback_answers_instead_of_503() {
    let (breaker, _clock) = manual("axum_fallback");
    let upstream = Upstream::default();
    upstream.status.store(200, Ordering::SeqCst);
    let app = Router::new()
        .route("/prices", get(handler))
        .route_layer(FailFastLayer::new(breaker.clone()).http().fallback(
            |open: &failfast::Open| {
                axum::response::Response::new(Body::from(format!(
                    "yesterday's prices ({})",
                    open.name()
                )))
            },
        ))
        .with_state(upstream.clone());
    breaker.force_open(Duration::from_secs(60));
    let (status, _, body) = get_status(&app, "/prices").await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, "yesterday's prices (axum_fallback)")
    );
    assert_eq!(upstream.runs.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn not_found_does_not_count_and_service_unavailable_does() {
    let (breaker, _clock) = manual("axum_statuses");
    let upstream = Upstream::default();
    let app = app(&upstream, breaker.clone());
    for status in [404, 400, 401, 409] {
        upstream.status.store(status, Ordering::SeqCst);
        assert_eq!(get_status(&app, "/flaky").await.0.as_u16(), status);
        assert!(breaker.state().is_closed(), "{status} does not count");
    }
    upstream.status.store(503, Ordering::SeqCst);
    get_status(&app, "/flaky").await;
    assert!(breaker.state().is_open(), "503 counts");
}

#[tokio::test]
async fn a_custom_status_predicate_is_honoured() {
    let (breaker, _clock) = manual("axum_predicate");
    let upstream = Upstream::default();
    let app = Router::new()
        .route("/flaky", get(handler))
        .route_layer(
            FailFastLayer::new(breaker.clone())
                .http()
                .failure_status(|s: StatusCode| s == StatusCode::BAD_GATEWAY),
        )
        .with_state(upstream.clone());
    upstream.status.store(500, Ordering::SeqCst);
    get_status(&app, "/flaky").await;
    assert!(breaker.state().is_closed(), "only 502 counts here");
    upstream.status.store(502, Ordering::SeqCst);
    get_status(&app, "/flaky").await;
    assert!(breaker.state().is_open());
}
