//! [`FailFastLayer`]: wraps services in [`FailFast`].

use std::time::Duration;

use http::StatusCode;
use tower_layer::Layer;

use super::FailFast;
use super::breakers::PerRequest;
use super::classify::Errors;
use super::grpc::{GrpcStatus, GrpcUnavailable};
use super::http::{FallbackResponse, HttpStatus, Unavailable};
use super::on_open::Reject;
use crate::breaker::Breaker;
use crate::error::Open;
use crate::name::Name;

/// Guards services with a circuit breaker: a [`tower_layer::Layer`] that wraps each service in
/// a [`FailFast`].
///
/// - `FailFastLayer::new(breaker)` (or [`named`](Self::named)) for any service: every error
///   counts, and a refused call fails with [`failfast::Error::Open`](crate::Error::Open).
/// - [`.http()`](Self::http) for HTTP servers: 5xx and 429 responses count too, and a refused
///   call is answered `503 Service Unavailable` with `Retry-After`, so the layer fits in an
///   axum router; [`.fallback(..)`](Self::fallback) answers something else.
/// - [`.http_client()`](Self::http_client) for HTTP clients: 5xx and 429 count, and a refused
///   call fails with `Error::Open`.
/// - [`.grpc()`](Self::grpc) for gRPC (a tonic channel or server): server-error
///   `grpc-status` codes count, and a refused call is answered `UNAVAILABLE`.
/// - [`.classify(..)`](Self::classify) and [`.failure_status(..)`](Self::failure_status) decide
///   what counts; [`per_request`](Self::per_request) chooses a breaker per request.
///
/// ```
/// use std::time::Duration;
/// use failfast::{Breaker, Error};
/// use failfast::service::FailFastLayer;
/// use tower::{Service, ServiceBuilder, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let breaker = Breaker::new("inventory", Duration::from_secs(30));
/// let mut service = ServiceBuilder::new()
///     .layer(FailFastLayer::new(breaker.clone()))
///     .service_fn(|sku: u32| async move {
///         if sku == 0 { Err("no such item") } else { Ok(sku * 2) }
///     });
/// assert_eq!(service.ready().await.unwrap().call(21).await.unwrap(), 42);
/// assert!(matches!(service.ready().await.unwrap().call(0).await, Err(Error::Inner(_))));
/// // The failure opened the circuit: the next call is refused without reaching the service.
/// assert!(matches!(service.ready().await.unwrap().call(21).await, Err(Error::Open(_))));
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct FailFastLayer<K = Breaker, C = Errors, R = Reject> {
    breakers: K,
    classify: C,
    on_open: R,
}

impl FailFastLayer {
    /// Guards services with `breaker`: one circuit for every call through them.
    pub fn new(breaker: Breaker) -> Self {
        FailFastLayer {
            breakers: breaker,
            classify: Errors,
            on_open: Reject,
        }
    }

    /// Guards services with a new [`Breaker::new`]`(name, open_for)`: it opens on the first
    /// counted failure and stays open for `open_for`. For other settings, build the breaker
    /// and use [`new`](Self::new).
    pub fn named(name: impl Into<Name>, open_for: Duration) -> Self {
        FailFastLayer::new(Breaker::new(name, open_for))
    }
}

impl<F> FailFastLayer<PerRequest<F>> {
    /// Guards each call with the breaker `choose` returns for its request: one circuit per
    /// host of a client, per tenant, per route. See [`PerRequest`].
    pub fn per_request(choose: F) -> Self {
        FailFastLayer {
            breakers: PerRequest::new(choose),
            classify: Errors,
            on_open: Reject,
        }
    }
}

impl<K, C, R> FailFastLayer<K, C, R> {
    /// Decides with `classify` how each result counts: any [`Classify`](super::Classify),
    /// such as a closure `Fn(&Result<Response, Error>) -> Outcome`.
    pub fn classify<C2>(self, classify: C2) -> FailFastLayer<K, C2, R> {
        FailFastLayer {
            breakers: self.breakers,
            classify,
            on_open: self.on_open,
        }
    }

    /// For HTTP servers (an axum router, a route): 5xx and 429 responses count as failures (4xx
    /// do not), errors always do, and a refused call is answered `503 Service Unavailable` with
    /// `Retry-After`. The response body must implement `Default` (axum's does). Compare
    /// [`http_client`](Self::http_client).
    pub fn http(self) -> FailFastLayer<K, HttpStatus, Unavailable> {
        FailFastLayer {
            breakers: self.breakers,
            classify: HttpStatus::default(),
            on_open: Unavailable,
        }
    }

    /// For HTTP clients (a hyper client): 5xx and 429 responses count as
    /// failures (4xx do not), errors always do, and a refused call fails with
    /// [`failfast::Error::Open`](crate::Error::Open), since a client's response body cannot be
    /// made up. Compare [`http`](Self::http), for servers, and [`grpc`](Self::grpc), for gRPC,
    /// whose errors come in HTTP 200 answers.
    pub fn http_client(self) -> FailFastLayer<K, HttpStatus, Reject> {
        FailFastLayer {
            breakers: self.breakers,
            classify: HttpStatus::default(),
            on_open: Reject,
        }
    }

    /// For gRPC clients and servers (a tonic channel, a tonic server's routes): answers whose
    /// `grpc-status` is a server error (`UNAVAILABLE`, `INTERNAL`, ...; see
    /// [`GrpcStatus`](super::GrpcStatus)) count as failures, errors always do, and a refused
    /// call is answered `UNAVAILABLE`, with the refusal as its message and when to retry in
    /// `grpc-retry-pushback-ms`. For refusals as [`failfast::Error::Open`](crate::Error::Open)
    /// instead, keep the default answer and classify with
    /// `.classify(GrpcStatus::default())`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::service::FailFastLayer;
    /// use tower::ServiceBuilder;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let channel = tonic::transport::Endpoint::from_static("http://127.0.0.1:50051").connect_lazy();
    /// let guarded = ServiceBuilder::new()
    ///     .layer(FailFastLayer::named("grpc/inventory", Duration::from_secs(10)).grpc())
    ///     .service(channel);
    /// // let mut client = InventoryClient::new(guarded); // any tonic client
    /// # let _ = guarded;
    /// # }
    /// ```
    pub fn grpc(self) -> FailFastLayer<K, GrpcStatus, GrpcUnavailable> {
        FailFastLayer {
            breakers: self.breakers,
            classify: GrpcStatus::default(),
            on_open: GrpcUnavailable,
        }
    }

    /// For HTTP services: the statuses for which `is_failure` is true count as failures, and
    /// errors always do.
    pub fn failure_status<F>(self, is_failure: F) -> FailFastLayer<K, HttpStatus<F>, R>
    where
        F: Fn(StatusCode) -> bool,
    {
        FailFastLayer {
            breakers: self.breakers,
            classify: HttpStatus::new(is_failure),
            on_open: self.on_open,
        }
    }

    /// For HTTP services: a refused call is answered with the response `make` builds from the
    /// refusal (a cached page, a default), rather than 503. The classifier stays as it was:
    /// write `.http().fallback(..)` for 5xx and 429 answers to count.
    ///
    /// ```
    /// use std::time::Duration;
    /// use axum::{Router, body::Body, http::Response, routing::get};
    /// use failfast::service::FailFastLayer;
    ///
    /// let cached = FailFastLayer::named("quotes", Duration::from_secs(30))
    ///     .http()
    ///     .fallback(|open: &failfast::Open| {
    ///         Response::new(Body::from(format!("EURUSD 1.07 (cached; {open})")))
    ///     });
    /// let app: Router = Router::new().route("/quote", get(|| async { "EURUSD 1.08" }).layer(cached));
    /// ```
    pub fn fallback<F, B>(self, make: F) -> FailFastLayer<K, C, FallbackResponse<F>>
    where
        F: Fn(&Open) -> http::Response<B>,
    {
        FailFastLayer {
            breakers: self.breakers,
            classify: self.classify,
            on_open: FallbackResponse::new(make),
        }
    }
}

impl<S, K: Clone, C: Clone, R: Clone> Layer<S> for FailFastLayer<K, C, R> {
    type Service = FailFast<S, K, C, R>;

    fn layer(&self, inner: S) -> Self::Service {
        FailFast::new(
            inner,
            self.breakers.clone(),
            self.classify.clone(),
            self.on_open.clone(),
        )
    }
}
