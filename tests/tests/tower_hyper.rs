//! The tower layer around a hyper client: the server goes down, the circuit opens and calls are
//! refused without connecting; the server comes back, a probe finds it, the circuit closes.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use failfast::service::FailFastLayer;
use failfast::{Breaker, Error, ManualClock};
use http_body_util::Empty;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tower::{Layer, Service, ServiceBuilder, ServiceExt};

type Request = http::Request<Empty<axum::body::Bytes>>;

/// Serves `GET /` on `addr` until the returned task is aborted.
async fn serve(addr: SocketAddr) -> tokio::task::JoinHandle<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .expect("the port is free");
    let app = Router::new().route("/", get(|| async { "up" }));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    })
}

fn request(addr: SocketAddr) -> Request {
    http::Request::get(format!("http://{addr}/"))
        .body(Empty::new())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_stops_calling_a_server_that_went_down_and_finds_it_back() {
    let addr = {
        let probe = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        probe.local_addr().unwrap()
    };
    let clock = ManualClock::new();
    let breaker = Breaker::builder(format!("hosts/{addr}"))
        .open_for(Duration::from_secs(30))
        .clock(clock.clone())
        .build()
        .unwrap();
    // No pooled connections, so that every call connects: a down server refuses at once.
    let client = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(0)
        .build_http::<Empty<axum::body::Bytes>>();
    let mut service = ServiceBuilder::new()
        .layer(FailFastLayer::new(breaker.clone()).http_client())
        .service(client);

    let server = serve(addr).await;
    let answer = service
        .ready()
        .await
        .unwrap()
        .call(request(addr))
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);

    server.abort();
    let _ = server.await;
    let failed = service.ready().await.unwrap().call(request(addr)).await;
    assert!(failed.is_err(), "connection refused: {failed:?}");
    assert!(breaker.state().is_open());
    let calls = breaker.stats().calls;
    for _ in 0..3 {
        let refused = service.ready().await.unwrap().call(request(addr)).await;
        let Err(Error::Open(open)) = refused else {
            panic!("{refused:?}")
        };
        assert_eq!(open.retry_in(), Duration::from_secs(30));
    }
    assert_eq!(
        breaker.stats().calls,
        calls,
        "refused calls never reached the client"
    );

    let server = serve(addr).await;
    clock.advance(Duration::from_secs(30));
    let probe = service
        .ready()
        .await
        .unwrap()
        .call(request(addr))
        .await
        .unwrap();
    assert_eq!(probe.status(), 200);
    assert!(breaker.state().is_closed());
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_layer_with_every_error_counting_fails_with_open() {
    let breaker = Breaker::new("hyper_generic", Duration::from_secs(30));
    breaker.force_open(Duration::from_secs(30));
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<axum::body::Bytes>>();
    let mut service = FailFastLayer::new(breaker).layer(client);
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 9));
    let refused = service.ready().await.unwrap().call(request(addr)).await;
    assert!(matches!(refused, Err(Error::Open(_))), "{refused:?}");
}
