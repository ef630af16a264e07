//! The response future of a [`FailFast`](super::FailFast) service.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::classify::{Classify, Outcome};
use super::on_open::OnOpen;
use crate::error::Open;
use crate::nested;
use crate::permit::{OwnedPermit, Verdict};

pin_project_lite::pin_project! {
    /// The response future of a [`FailFast`](super::FailFast) service: the inner service's
    /// future, whose outcome it records, or the answer to a refused call.
    ///
    /// Dropping it before it completes records nothing and gives back a half-open probe permit.
    /// A panic while polling the inner future counts as a failure.
    #[must_use = "futures do nothing unless polled"]
    pub struct ResponseFuture<F, C, R> {
        #[pin]
        state: State<F, C, R>,
    }
}

pin_project_lite::pin_project! {
    #[project = StateProj]
    enum State<F, C, R> {
        Running {
            #[pin]
            future: F,
            // Spent in place when the inner future completes: moving it out would cost a
            // stalled reload of what `call` just stored.
            permit: OwnedPermit,
            classify: C,
            on_open: R,
        },
        Refused {
            open: Option<Open>,
            on_open: R,
        },
    }
}

impl<F, C, R> ResponseFuture<F, C, R> {
    #[inline]
    pub(super) fn running(future: F, permit: OwnedPermit, classify: C, on_open: R) -> Self {
        ResponseFuture {
            state: State::Running {
                future,
                permit,
                classify,
                on_open,
            },
        }
    }

    #[inline]
    pub(super) fn refused(open: Open, on_open: R) -> Self {
        ResponseFuture {
            state: State::Refused {
                open: Some(open),
                on_open,
            },
        }
    }
}

impl<F, C, R, Response, E> Future for ResponseFuture<F, C, R>
where
    F: Future<Output = Result<Response, E>>,
    C: Classify<Response, E>,
    R: OnOpen<Response, E>,
{
    type Output = Result<Response, R::Error>;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Refused { open, on_open } => {
                let open = open
                    .take()
                    .expect("`ResponseFuture` polled after completion");
                Poll::Ready(on_open.refused(open))
            }
            StateProj::Running {
                future,
                permit,
                classify,
                on_open,
            } => {
                assert!(
                    !permit.is_spent(),
                    "`ResponseFuture` polled after completion"
                );
                // If polling unwinds, the permit is dropped with this still set: a failure.
                permit.fail_on_drop = true;
                let polled =
                    nested::as_part_of(permit.breaker.circuit(), permit.ticket, || future.poll(cx));
                let Poll::Ready(result) = polled else {
                    permit.fail_on_drop = false;
                    return Poll::Pending;
                };
                // Still set while the classifier runs: one that panics counts as a failure.
                let verdict = match classify.classify(&result) {
                    Outcome::Success => Verdict::Success,
                    Outcome::Failure => Verdict::Failure,
                    Outcome::Ignored => Verdict::Ignored,
                };
                permit.fail_on_drop = false;
                permit.spend_in_place(verdict);
                Poll::Ready(result.map_err(|e| on_open.failed(e)))
            }
        }
    }
}
