//! The future returned by [`Breaker::run`] and [`Breaker::run_if`].

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::breaker::Breaker;
use crate::error::Error;
use crate::nested;
use crate::permit::Permit;

pin_project_lite::pin_project! {
    /// A future guarded by a breaker: it asks the breaker for a permit when first polled, runs
    /// the inner future, and records its outcome.
    ///
    /// Dropping it before it completes records nothing and gives back a half-open probe permit.
    /// A panic while polling the inner future counts as a failure.
    ///
    /// ```
    /// use std::time::Duration;
    /// use failfast::{Breaker, Error, Run};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let breaker = Breaker::new("profile", Duration::from_secs(5));
    /// let guarded = breaker.run(async { Ok::<_, std::io::Error>("ada") });
    /// match guarded.await {
    ///     Ok(name) => assert_eq!(name, "ada"),
    ///     Err(Error::Open(open)) => eprintln!("{open}"),
    ///     Err(Error::Inner(e)) => eprintln!("{e}"),
    /// }
    /// # }
    /// ```
    #[must_use = "futures do nothing unless polled"]
    pub struct Run<'a, F, P> {
        breaker: &'a Breaker,
        #[pin]
        future: F,
        counts: Option<P>,
        permit: Option<Permit<'a>>,
    }
}

impl<'a, F, P> Run<'a, F, P> {
    pub(crate) fn new(breaker: &'a Breaker, future: F, counts: P) -> Self {
        Run {
            breaker,
            future,
            counts: Some(counts),
            permit: None,
        }
    }
}

impl<F, P, T, E> Future for Run<'_, F, P>
where
    F: Future<Output = Result<T, E>>,
    P: FnOnce(&E) -> bool,
{
    type Output = Result<T, Error<E>>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        assert!(this.counts.is_some(), "`Run` polled after completion");
        // Held here while polling, and put back only if the future is not done: a future that
        // is ready at once never stores it, and never reloads what it just stored.
        let mut permit = match this.permit.take() {
            Some(permit) => permit,
            None => match this.breaker.try_acquire() {
                Ok(permit) => permit,
                Err(open) => {
                    this.counts.take();
                    return Poll::Ready(Err(Error::Open(open)));
                }
            },
        };
        // If polling unwinds, the permit is dropped with this still set: a failure.
        permit.fail_on_drop = true;
        let polled = nested::as_part_of(this.breaker.circuit(), permit.ticket, || {
            this.future.poll(cx)
        });
        permit.fail_on_drop = false;
        let Poll::Ready(result) = polled else {
            *this.permit = Some(permit);
            return Poll::Pending;
        };
        let counts = this
            .counts
            .take()
            .expect("the predicate is held until the inner future completes");
        Poll::Ready(permit.settle(result, counts))
    }
}
