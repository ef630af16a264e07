//! The tower layer around a tonic `Channel`: the server goes down, the circuit opens and calls
//! are refused without reaching the channel; the server comes back, a probe finds it, the circuit
//! closes. And gRPC errors, which come in HTTP 200 answers: a classifier that reads `grpc-status`.

use std::error::Error as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use failfast::service::{FailFastLayer, GrpcStatus};
use failfast::{Breaker, Error, ManualClock, Open};
use tokio::sync::oneshot;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tower::ServiceBuilder;

const OPEN_FOR: Duration = Duration::from_secs(30);

/// A gRPC health server on its own thread and runtime. `check("")` answers SERVING and `check`
/// of a service it does not know answers NOT_FOUND; while `unavailable` is set, every call is
/// answered UNAVAILABLE, as by a server shedding load.
struct Server {
    stop: Option<oneshot::Sender<()>>,
    stopped: oneshot::Receiver<()>,
}

impl Server {
    async fn start(addr: SocketAddr, unavailable: Arc<AtomicBool>) -> Server {
        let (bound_tx, bound) = oneshot::channel();
        let (stop, stop_rx) = oneshot::channel::<()>();
        let (stopped_tx, stopped) = oneshot::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind(addr)
                    .await
                    .expect("the port is free");
                let _ = bound_tx.send(());
                let (_, health) = tonic_health::server::health_reporter();
                let service = InterceptedService::new(health, move |request| {
                    if unavailable.load(Ordering::SeqCst) {
                        Err(Status::unavailable("shedding load"))
                    } else {
                        Ok(request)
                    }
                });
                let serving = tonic::transport::Server::builder()
                    .serve_with_incoming(service, TcpIncoming::from(listener));
                tokio::select! {
                    served = serving => served.expect("serves until stopped"),
                    _ = stop_rx => {}
                }
            });
            // tonic serves each connection on a task of its own, which aborting the serving task
            // would leave running. Dropping the runtime drops them all and closes their sockets,
            // as a crashed process would.
            drop(runtime);
            let _ = stopped_tx.send(());
        });
        bound.await.expect("the server bound its port");
        Server {
            stop: Some(stop),
            stopped,
        }
    }

    /// Stops the server and closes its connections.
    async fn stop(mut self) {
        let _ = self.stop.take().expect("running").send(());
        bounded(&mut self.stopped)
            .await
            .expect("the server stopped");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A breaker open for [`OPEN_FOR`] on a manual clock, and the clock.
fn manual(name: impl Into<failfast::Name>) -> (Breaker, ManualClock) {
    let (builder, clock) = tests::manual(name);
    (builder.open_for(OPEN_FOR).build().unwrap(), clock)
}

fn serving() -> Arc<AtomicBool> {
    Arc::new(AtomicBool::new(false))
}

fn free_port() -> SocketAddr {
    let probe = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    probe.local_addr().unwrap()
}

/// A channel that connects on its first call, and on the call after it lost its connection: a
/// server that is down fails calls, not the making of the channel.
fn channel(addr: SocketAddr) -> Channel {
    Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_lazy()
}

type Request = http::Request<tonic::body::Body>;

/// Counts the requests that reach the channel.
fn count(reached: &Arc<AtomicU32>) -> impl Fn(Request) -> Request + Clone + use<> {
    let reached = reached.clone();
    move |request| {
        reached.fetch_add(1, Ordering::SeqCst);
        request
    }
}

fn ask(service: &str) -> HealthCheckRequest {
    HealthCheckRequest {
        service: service.to_owned(),
    }
}

/// A safety bound: every call here answers at once, from loopback.
async fn bounded<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(10), future)
        .await
        .expect("answered in time")
}

/// The refusal behind a `Status`. tonic makes the service's error into a `Status` (code
/// `Unknown`, the message the error's `Display`) whose `source` is the `failfast::Error`.
fn open_of(status: &Status) -> Option<&Open> {
    status
        .source()?
        .downcast_ref::<Error<tonic::transport::Error>>()?
        .as_open()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_stops_calling_a_server_that_went_down_and_finds_it_back() {
    let addr = free_port();
    let (breaker, clock) = manual(format!("grpc/{addr}"));
    let reached = Arc::new(AtomicU32::new(0));
    let mut client = HealthClient::new(
        ServiceBuilder::new()
            .layer(FailFastLayer::new(breaker.clone()).http_client())
            .map_request(count(&reached))
            .service(channel(addr)),
    );

    let server = Server::start(addr, serving()).await;
    let answer = bounded(client.check(ask(""))).await.unwrap();
    assert_eq!(answer.into_inner().status(), ServingStatus::Serving);

    server.stop().await;
    let failed = bounded(client.check(ask(""))).await.unwrap_err();
    assert_eq!(
        open_of(&failed),
        None,
        "the channel's own error: {failed:?}"
    );
    assert!(breaker.state().is_open(), "{failed:?}");
    let (calls, reached_before) = (breaker.stats().calls, reached.load(Ordering::SeqCst));
    for _ in 0..3 {
        let refused = bounded(client.check(ask(""))).await.unwrap_err();
        assert_eq!(refused.code(), Code::Unknown, "{refused:?}");
        let open = open_of(&refused).unwrap_or_else(|| panic!("{refused:?}"));
        assert_eq!(open.retry_in(), OPEN_FOR);
        assert_eq!(refused.message(), open.to_string());
    }
    assert_eq!(
        breaker.stats().calls,
        calls,
        "refused calls never reached the channel"
    );
    assert_eq!(reached.load(Ordering::SeqCst), reached_before);
    assert_eq!(breaker.stats().rejected, 3);

    let server = Server::start(addr, serving()).await;
    clock.advance(OPEN_FOR);
    let probe = bounded(client.check(ask(""))).await.unwrap();
    assert_eq!(probe.into_inner().status(), ServingStatus::Serving);
    assert!(breaker.state().is_closed());
    server.stop().await;
}

// gRPC answers a failed call with HTTP 200 and a `grpc-status` other than 0, in the trailers,
// or in the headers of a "trailers-only" answer when the call failed before any message.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_unavailable_counts_only_with_a_classifier_that_reads_grpc_status() {
    let addr = free_port();
    let unavailable = serving();
    let server = Server::start(addr, unavailable.clone()).await;
    let channel = channel(addr);

    // By HTTP status, UNAVAILABLE is a 200: a success.
    let by_http = Breaker::new("grpc/by_http_status", OPEN_FOR);
    let mut client = HealthClient::new(
        ServiceBuilder::new()
            .layer(FailFastLayer::new(by_http.clone()).http_client())
            .service(channel.clone()),
    );
    unavailable.store(true, Ordering::SeqCst);
    let status = bounded(client.check(ask(""))).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert!(by_http.state().is_closed());
    assert_eq!(
        (by_http.stats().successes, by_http.stats().failures),
        (1, 0)
    );
    unavailable.store(false, Ordering::SeqCst);

    // Reading `grpc-status` from the headers of a trailers-only answer: UNAVAILABLE counts.
    // (An error in the trailers of an answer that has begun is out of a classifier's sight: it
    // sees the response, not its body.)
    let (breaker, clock) = manual("grpc/by_grpc_status");
    let reached = Arc::new(AtomicU32::new(0));
    let mut client = HealthClient::new(
        ServiceBuilder::new()
            .layer(FailFastLayer::new(breaker.clone()).classify(GrpcStatus::default()))
            .map_request(count(&reached))
            .service(channel),
    );

    // NOT_FOUND: the server is up and answers about a service it does not know. No failure.
    let status = bounded(client.check(ask("no.such.Service")))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    let answer = bounded(client.check(ask(""))).await.unwrap();
    assert_eq!(answer.into_inner().status(), ServingStatus::Serving);
    assert!(breaker.state().is_closed());
    assert_eq!(
        (breaker.stats().successes, breaker.stats().failures),
        (2, 0)
    );

    // UNAVAILABLE opens the circuit; further calls are refused without reaching the channel.
    unavailable.store(true, Ordering::SeqCst);
    let status = bounded(client.check(ask(""))).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert_eq!(open_of(&status), None);
    assert!(breaker.state().is_open());
    let (calls, reached_before) = (breaker.stats().calls, reached.load(Ordering::SeqCst));
    let refused = bounded(client.check(ask(""))).await.unwrap_err();
    assert!(open_of(&refused).is_some(), "{refused:?}");
    assert_eq!(breaker.stats().calls, calls);
    assert_eq!(reached.load(Ordering::SeqCst), reached_before);

    // The server serves again; after the open period a probe closes the circuit.
    unavailable.store(false, Ordering::SeqCst);
    clock.advance(OPEN_FOR);
    let probe = bounded(client.check(ask(""))).await.unwrap();
    assert_eq!(probe.into_inner().status(), ServingStatus::Serving);
    assert!(breaker.state().is_closed());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_grpc_a_refused_call_is_answered_unavailable_with_a_pushback() {
    let addr = free_port();
    let unavailable = serving();
    let server = Server::start(addr, unavailable.clone()).await;
    let (breaker, clock) = manual("grpc/answered");
    let reached = Arc::new(AtomicU32::new(0));
    let mut client = HealthClient::new(
        ServiceBuilder::new()
            .layer(FailFastLayer::new(breaker.clone()).grpc())
            .map_request(count(&reached))
            .service(channel(addr)),
    );

    let status = bounded(client.check(ask("no.such.Service")))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert!(breaker.state().is_closed(), "NOT_FOUND is an answer");

    unavailable.store(true, Ordering::SeqCst);
    let status = bounded(client.check(ask(""))).await.unwrap_err();
    assert_eq!(
        (status.code(), status.message()),
        (Code::Unavailable, "shedding load")
    );
    assert!(breaker.state().is_open());

    let reached_before = reached.load(Ordering::SeqCst);
    clock.advance(Duration::from_millis(2500));
    let refused = bounded(client.check(ask(""))).await.unwrap_err();
    assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");
    assert_eq!(
        refused.message(),
        "circuit `grpc/answered` is open; retry in 27.5s"
    );
    let pushback = refused.metadata().get("grpc-retry-pushback-ms");
    assert_eq!(pushback.and_then(|v| v.to_str().ok()), Some("27500"));
    assert_eq!(reached.load(Ordering::SeqCst), reached_before, "not sent");
    assert_eq!(breaker.stats().rejected, 1);

    unavailable.store(false, Ordering::SeqCst);
    clock.advance(OPEN_FOR);
    let probe = bounded(client.check(ask(""))).await.unwrap();
    assert_eq!(probe.into_inner().status(), ServingStatus::Serving);
    assert!(breaker.state().is_closed());
    server.stop().await;
}
