//! Tower middleware (feature `tower`): guard any [`tower_service::Service`] (an axum route, a
//! hyper client, a tonic channel) with a circuit breaker.
//!
//! [`FailFastLayer`] wraps a service in [`FailFast`], in the shape of tower's own middleware:
//! a layer, a service, a named [`ResponseFuture`] (no boxing), and the error
//! [`failfast::Error`](crate::Error). While the circuit is open the service is always ready
//! and refuses inside `call`, as tower's load-shed does: a refused call never reaches, nor
//! waits for, the inner service.

mod breakers;
mod classify;
mod future;
mod http;
mod layer;
mod on_open;

use std::task::{Context, Poll};

use tower_service::Service;

use crate::permit::OwnedPermit;

pub use self::breakers::{Breakers, PerRequest};
pub use self::classify::{Classify, Errors, Outcome};
pub use self::future::ResponseFuture;
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
    ready: bool,
}

impl<S, K, C, R> FailFast<S, K, C, R> {
    pub(crate) fn new(inner: S, breakers: K, classify: C, on_open: R) -> Self {
        FailFast {
            inner,
            breakers,
            classify,
            on_open,
            ready: false,
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
                self.ready = true;
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(self.on_open.failed(e))),
            Poll::Pending => Poll::Pending,
        }
    }

    #[inline(always)]
    fn call(&mut self, request: Request) -> Self::Future {
        let ready = std::mem::take(&mut self.ready);
        let breaker = self.breakers.select(&request);
        match breaker.admit() {
            Err(open) => ResponseFuture::refused(open, self.on_open.clone()),
            // The open period ended between `poll_ready`, which did not ask the inner service,
            // and now: it may not be called. Refused, to be retried at once.
            Ok(ticket) if !ready => {
                breaker.release(ticket);
                ResponseFuture::refused(breaker.refusal_now(), self.on_open.clone())
            }
            Ok(ticket) => {
                let permit = OwnedPermit {
                    breaker: breaker.into_owned(),
                    ticket,
                    fail_on_drop: false,
                };
                let future = self.inner.call(request);
                ResponseFuture::running(future, permit, self.classify.clone(), self.on_open.clone())
            }
        }
    }
}
