//! Tower middleware (feature `tower`): guard any [`tower_service::Service`] (an axum route, a
//! hyper client, a tonic channel) with a circuit breaker.
//!
//! | what it guards | layer | counts as failures | a refused call |
//! |---|---|---|---|
//! | any service | [`FailFastLayer::new`] | errors | `Err(failfast::Error::Open)` |
//! | HTTP server (axum) | [`.http()`](FailFastLayer::http) | errors, 5xx, 429 | `503` + `Retry-After` (or [`.fallback(..)`](FailFastLayer::fallback)) |
//! | HTTP client (hyper) | [`.http_client()`](FailFastLayer::http_client) | errors, 5xx, 429 | `Err(failfast::Error::Open)` |
//! | gRPC (tonic channel or server) | [`.grpc()`](FailFastLayer::grpc) | errors, `UNAVAILABLE`, `INTERNAL`, ... | `UNAVAILABLE` + `grpc-retry-pushback-ms` |
//!
//! [`.classify(..)`](FailFastLayer::classify) takes any rule.
//!
//! [`FailFastLayer`] wraps a service in [`FailFast`], in the shape of tower's own middleware:
//! a layer, a service, a named [`ResponseFuture`] (no boxing), and the error
//! [`failfast::Error`](crate::Error). While the circuit is open the service is always ready
//! and refuses inside `call`, as tower's load-shed does: a refused call never reaches, nor
//! waits for, the inner service. (With a breaker chosen per request, `poll_ready` comes before
//! the request, so it still waits for the inner service to be ready; the refused call still
//! never reaches it.) The layer adds about 16 ns to a call (the README's benchmark).
//!
//! # One circuit for a route, for a whole service, or per host
//!
//! **Per route**, in an axum router: only the route whose backend is down is refused, with
//! `503 Service Unavailable` and `Retry-After`, while the others keep answering. `.http()`
//! counts 5xx and 429 answers as failures, and the layer's error stays the router's
//! `Infallible`, so no `HandleErrorLayer` is needed.
//!
//! ```
//! use std::time::Duration;
//! use axum::{Router, http::StatusCode, routing::get};
//! use failfast::service::FailFastLayer;
//!
//! async fn prices() -> StatusCode {
//!     StatusCode::BAD_GATEWAY // the pricing backend is down
//! }
//!
//! let prices_circuit = FailFastLayer::named("prices", Duration::from_secs(30)).http();
//! let app: Router = Router::new()
//!     .route("/prices", get(prices).layer(prices_circuit))
//!     .route("/health", get(|| async { "ok" }));
//! ```
//!
//! **For a whole service**: [`Router::route_layer`] guards every route added before it, and
//! [`ServiceBuilder`] stacks the layer with others around any service, such as a client; the
//! result boxes into a `BoxCloneService` like any tower service.
//!
//! ```
//! use std::time::Duration;
//! use failfast::{Breaker, Error};
//! use failfast::service::FailFastLayer;
//! use tower::util::BoxCloneService;
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let breaker = Breaker::new("geocoder", Duration::from_secs(10));
//! let geocoder: BoxCloneService<&'static str, (f64, f64), Error<std::io::Error>> =
//!     ServiceBuilder::new()
//!         .layer(FailFastLayer::new(breaker.clone()))
//!         .service_fn(|city: &'static str| async move {
//!             match city {
//!                 "Lyon" => Ok((45.76, 4.84)),
//!                 _ => Err(std::io::Error::other("the geocoder is down")),
//!             }
//!         })
//!         .boxed_clone();
//! assert!(geocoder.clone().oneshot("Lyon").await.is_ok());
//! assert!(matches!(geocoder.clone().oneshot("Atlantis").await, Err(Error::Inner(_))));
//! assert!(matches!(geocoder.oneshot("Lyon").await, Err(Error::Open(_))));
//! # }
//! ```
//!
//! **Per host of a client**: [`FailFastLayer::per_request`] takes the breaker for each request
//! from a closure, here from a [`Registry`](crate::Registry) keyed by the request's authority,
//! so one host going down refuses calls to it and to no other. `.http_client()` counts 5xx and
//! 429 answers and connection errors, and a refused call fails with
//! [`Error::Open`](crate::Error::Open) without connecting. Key by hosts your program chooses:
//! a registry keeps a breaker for every name it was asked for.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use failfast::{Error, Registry};
//! use failfast::service::FailFastLayer;
//! use http_body_util::Empty;
//! use hyper::body::Bytes;
//! use hyper_util::client::legacy::Client;
//! use hyper_util::rt::TokioExecutor;
//! use tower::{Service, ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let hosts = Arc::new(Registry::new());
//! let per_host = {
//!     let hosts = hosts.clone();
//!     FailFastLayer::per_request(move |request: &http::Request<Empty<Bytes>>| {
//!         let host = request.uri().authority().map_or("", |a| a.as_str());
//!         hosts.get_or_create(format!("hosts/{host}"), Duration::from_secs(10))
//!     })
//! };
//! let mut client = ServiceBuilder::new()
//!     .layer(per_host.http_client())
//!     .service(Client::builder(TokioExecutor::new()).build_http());
//!
//! // Nothing listens on port 1: the connection is refused, and that host's circuit opens.
//! let request = || http::Request::get("http://127.0.0.1:1/").body(Empty::new()).unwrap();
//! let failed = client.ready().await.unwrap().call(request()).await;
//! assert!(matches!(failed, Err(Error::Inner(_))));
//! assert!(hosts.get("hosts/127.0.0.1:1").unwrap().state().is_open());
//! let refused = client.ready().await.unwrap().call(request()).await;
//! assert!(matches!(refused, Err(Error::Open(_))));
//! # }
//! ```
//!
//! # Readiness
//!
//! - While the circuit refuses calls (open, or half-open with every probe permit held), a
//!   service with one breaker is ready at once. A balancer choosing among ready services may
//!   therefore pick an open one: its refusals are immediate, and say when to retry.
//! - A caller already waiting in `poll_ready` when the circuit opens keeps waiting for the
//!   inner service, which holds its waker; polled again, the service is ready at once.
//! - An error from the inner service's `poll_ready` (tower's `Reconnect` and balancers report
//!   failed connections there) counts as a failure of a single breaker's circuit. With
//!   [`per_request`](FailFastLayer::per_request) there is no request yet, so it is passed on
//!   uncounted.
//! - A `call` the inner service was not polled ready for (one without a `poll_ready` before
//!   it, or after the open period ended between the two) is refused with a refusal that says
//!   to retry now: the inner service is never called unready.
//!
//! # Time-outs go inside the layer
//!
//! A time-out outside the layer drops the response future when it fires, and a dropped future
//! records nothing (it is a cancellation), so a dependency that hangs would never open the
//! circuit. Put the time-out between the layer and the service, where its error counts:
//!
//! ```
//! use std::time::Duration;
//! use failfast::{Breaker, Error};
//! use failfast::service::FailFastLayer;
//! use tower::{BoxError, ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let breaker = Breaker::new("slow_backend", Duration::from_secs(30));
//! let service = ServiceBuilder::new()
//!     .layer(FailFastLayer::new(breaker.clone())) // outside: sees the time-out's error
//!     .timeout(Duration::from_millis(200))
//!     .service_fn(|_: ()| async {
//!         tokio::time::sleep(Duration::from_secs(60)).await; // hangs
//!         Ok::<_, BoxError>("late")
//!     });
//! let timed_out = service.clone().oneshot(()).await;
//! assert!(matches!(timed_out, Err(Error::Inner(_))));
//! assert!(breaker.state().is_open());
//! # }
//! ```
//!
//! In an axum route, the time-out's error must become a response before it reaches `.http()`:
//! `.layer(ServiceBuilder::new().layer(FailFastLayer::named(..).http())
//! .layer(HandleErrorLayer::new(|_: BoxError| async { StatusCode::GATEWAY_TIMEOUT }))
//! .timeout(d))`, where the 504 counts as a failure. (tower-http's `TimeoutLayer` answers
//! `408 Request Timeout`, a 4xx that `.http()` does not count unless
//! [`failure_status`](FailFastLayer::failure_status) says so.)
//!
//! # Composing with other layers
//!
//! - [`FailFastLayer::fallback`] and [`FailFastLayer::failure_status`] change one part of the
//!   layer and keep the rest: write `.http().fallback(..)`, since `.fallback(..)` alone keeps
//!   the default classifier, for which an HTTP answer of any status is a success.
//! - Layers that need an error convertible into `tower::BoxError` (`buffer`) take
//!   the layer's [`failfast::Error<BoxError>`](crate::Error) once it is flattened with
//!   `.map_err(failfast::Error::into_error::<BoxError>)`; the refusal can still be found by
//!   downcasting to [`Open`](crate::Open):
//!
//! ```
//! use std::time::Duration;
//! use failfast::{Breaker, Error, Open};
//! use failfast::service::FailFastLayer;
//! use tower::{BoxError, ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let breaker = Breaker::new("ledger", Duration::from_secs(30));
//! breaker.force_open(Duration::from_secs(30));
//! let ledger = ServiceBuilder::new()
//!     .buffer(64)
//!     .map_err(Error::into_error::<BoxError>)
//!     .layer(FailFastLayer::new(breaker))
//!     .service_fn(|entry: u64| async move { Ok::<_, BoxError>(entry) });
//! let refused: BoxError = ledger.oneshot(7).await.unwrap_err();
//! assert!(refused.downcast_ref::<Open>().is_some());
//! # }
//! ```
//!
//! - In tests, build the breaker with a [`ManualClock`](crate::ManualClock) and pass it to
//!   [`FailFastLayer::new`]: `tokio::time::pause` does not move a breaker's clock.
//!
//! # Common errors
//!
//! - *the trait `From<failfast::Error<Infallible>>` is not implemented for `Infallible`*, in an
//!   axum router: the layer lacks `.http()` (or `.fallback(..)`), so it fails refused calls
//!   with an error where axum wants a response.
//! - *`Incoming: Default` is not satisfied*, or no method `ready`/`oneshot` on a
//!   `FailFast<Client<..>, .., Unavailable>`: `.http()` on a client, whose response body
//!   cannot be made up. Use `.http_client()`.
//! - *type annotations needed* on a closure given to [`classify`](FailFastLayer::classify) or
//!   [`per_request`](FailFastLayer::per_request): name the argument's type, e.g.
//!   `|result: &Result<http::Response<Incoming>, hyper_util::client::legacy::Error>|` or
//!   `|request: &http::Request<Body>|`; it must be exactly the service's.
//!
//! [`Router::route_layer`]: https://docs.rs/axum/0.8/axum/struct.Router.html#method.route_layer
//! [`ServiceBuilder`]: https://docs.rs/tower/0.5/tower/struct.ServiceBuilder.html

mod breakers;
mod classify;
mod future;
mod grpc;
mod http;
mod layer;
mod on_open;

use std::task::{Context, Poll};

use tower_service::Service;

use crate::nested;
use crate::permit::OwnedPermit;

pub use self::breakers::{Breakers, PerRequest};
pub use self::classify::{Classify, Errors, Outcome};
pub use self::future::ResponseFuture;
pub use self::grpc::{GrpcStatus, GrpcUnavailable, grpc_server_error};
pub use self::http::{FallbackResponse, HttpStatus, Unavailable, server_error_or_429};
pub use self::layer::FailFastLayer;
pub use self::on_open::{OnOpen, Reject};

/// A service guarded by a circuit breaker; made by [`FailFastLayer`].
#[derive(Debug)]
pub struct FailFast<S, K, C, R> {
    inner: S,
    breakers: K,
    classify: C,
    on_open: R,
    /// Whether `inner` said it was ready: a call may go to it only then.
    inner_ready: bool,
}

impl<S, K, C, R> FailFast<S, K, C, R> {
    pub(crate) fn new(inner: S, breakers: K, classify: C, on_open: R) -> Self {
        FailFast {
            inner,
            breakers,
            classify,
            on_open,
            inner_ready: false,
        }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The inner service, unwrapped.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

/// A clone is not ready, whatever the original was: it must be polled ready itself.
impl<S: Clone, K: Clone, C: Clone, R: Clone> Clone for FailFast<S, K, C, R> {
    fn clone(&self) -> Self {
        FailFast::new(
            self.inner.clone(),
            self.breakers.clone(),
            self.classify.clone(),
            self.on_open.clone(),
        )
    }
}

impl<S, Request, K, C, R> Service<Request> for FailFast<S, K, C, R>
where
    S: Service<Request>,
    K: Breakers<Request>,
    C: Classify<S::Response, S::Error> + Clone,
    R: OnOpen<S::Response, S::Error> + Clone,
{
    type Response = S::Response;
    type Error = R::Error;
    type Future = ResponseFuture<S::Future, C, R>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        if self.breakers.single().is_some_and(|b| b.is_refusing()) {
            // Refused in `call` without the inner service: it need not be ready.
            return Poll::Ready(Ok(()));
        }
        match self.inner.poll_ready(cx) {
            Poll::Ready(Ok(())) => {
                self.inner_ready = true;
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => {
                // A service that fails to become ready (it could not connect, say) failed.
                if let Some(breaker) = self.breakers.single() {
                    breaker.record_failure_now();
                }
                Poll::Ready(Err(self.on_open.failed(e)))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    #[inline(always)]
    fn call(&mut self, request: Request) -> Self::Future {
        let inner_ready = std::mem::take(&mut self.inner_ready);
        let breaker = self.breakers.select(&request);
        match breaker.admit() {
            Err(open) => ResponseFuture::refused(open, self.on_open.clone()),
            // The open period ended between `poll_ready`, which did not ask the inner service,
            // and now: it may not be called. Refused, to be retried at once.
            Ok(ticket) if !inner_ready => {
                breaker.release(ticket);
                ResponseFuture::refused(breaker.refusal_now(), self.on_open.clone())
            }
            Ok(ticket) => {
                // If the inner `call` unwinds, the permit is dropped with this set: a failure.
                let mut permit = OwnedPermit {
                    breaker: breaker.into_owned(),
                    ticket,
                    fail_on_drop: true,
                };
                let inner = &mut self.inner;
                let future =
                    nested::as_part_of(permit.breaker.circuit(), ticket, || inner.call(request));
                permit.fail_on_drop = false;
                ResponseFuture::running(future, permit, self.classify.clone(), self.on_open.clone())
            }
        }
    }
}
