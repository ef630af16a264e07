//! The tower layer: generic services, readiness, cancellation, and what counts.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use failfast::service::{FailFastLayer, Outcome};
use failfast::{Breaker, Error, ManualClock};
use tower::util::BoxCloneService;
use tower::{Layer, Service, ServiceBuilder, ServiceExt, service_fn};

fn manual(name: &'static str) -> (Breaker, ManualClock) {
    let (builder, clock) = tests::manual(name);
    (
        builder.open_for(Duration::from_secs(10)).build().unwrap(),
        clock,
    )
}

/// A service that counts its calls and fails when asked to.
fn counted(
    calls: Arc<AtomicU32>,
) -> impl Service<bool, Response = u32, Error = &'static str, Future: Send> + Clone + Send {
    service_fn(move |fail: bool| {
        let calls = calls.clone();
        async move {
            let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
            if fail { Err("down") } else { Ok(n) }
        }
    })
}

#[tokio::test]
async fn a_failure_opens_the_circuit_and_refused_calls_never_reach_the_service() {
    let (breaker, clock) = manual("tower_generic");
    let calls = Arc::new(AtomicU32::new(0));
    let mut service = ServiceBuilder::new()
        .layer(FailFastLayer::new(breaker.clone()))
        .service(counted(calls.clone()));
    assert_eq!(service.ready().await.unwrap().call(false).await.unwrap(), 1);
    let failed = service.ready().await.unwrap().call(true).await;
    assert!(matches!(failed, Err(Error::Inner("down"))), "{failed:?}");
    for _ in 0..3 {
        let refused = service.ready().await.unwrap().call(false).await;
        let Err(Error::Open(open)) = refused else {
            panic!("{refused:?}")
        };
        assert_eq!(open.retry_in(), Duration::from_secs(10));
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "refused calls never reached the service"
    );
    assert_eq!(breaker.stats().rejected, 3);

    clock.advance(Duration::from_secs(10));
    assert_eq!(
        service.ready().await.unwrap().call(false).await.unwrap(),
        3,
        "the probe"
    );
    assert!(breaker.state().is_closed());
}

/// A service that is never ready.
#[derive(Clone)]
struct NeverReady;

impl Service<()> for NeverReady {
    type Response = ();
    type Error = &'static str;
    type Future = std::future::Ready<Result<(), &'static str>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Pending
    }

    fn call(&mut self, _: ()) -> Self::Future {
        panic!("called without being ready");
    }
}

#[tokio::test]
async fn while_open_the_service_is_ready_at_once_and_refuses_in_call() {
    let (breaker, _clock) = manual("tower_ready");
    breaker.force_open(Duration::from_secs(10));
    let mut service = FailFastLayer::new(breaker.clone()).layer(NeverReady);
    let refused = service.ready().await.unwrap().call(()).await;
    assert!(matches!(refused, Err(Error::Open(_))), "{refused:?}");

    // Closed, it waits for the inner service as any middleware must.
    breaker.reset();
    let waker = futures::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    assert!(service.poll_ready(&mut cx).is_pending());
}

/// A future that never completes, and says when it is dropped.
struct Hangs(Arc<AtomicU32>);

impl Future for Hangs {
    type Output = Result<u32, &'static str>;
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Self::Output> {
        Poll::Pending
    }
}

impl Drop for Hangs {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn a_dropped_response_future_records_nothing_and_gives_its_probe_back() {
    let (breaker, clock) = manual("tower_cancel");
    breaker.force_open(Duration::from_secs(10));
    clock.advance(Duration::from_secs(10)); // half-open: one probe at a time
    let dropped = Arc::new(AtomicU32::new(0));
    let mut service = FailFastLayer::new(breaker.clone()).layer(service_fn({
        let dropped = dropped.clone();
        move |_: ()| Hangs(dropped.clone())
    }));
    let waker = futures::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    let mut probe = service.ready().await.unwrap().call(());
    assert!(Pin::new(&mut probe).poll(&mut cx).is_pending());
    // The probe slot is taken: another call is refused.
    let mut other = service.ready().await.unwrap().call(());
    assert!(matches!(
        Pin::new(&mut other).poll(&mut cx),
        Poll::Ready(Err(Error::Open(_)))
    ));
    let before = breaker.stats();
    drop(probe);
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    let after = breaker.stats();
    assert_eq!(
        (after.successes, after.failures, after.ignored),
        (before.successes, before.failures, before.ignored)
    );
    assert!(breaker.state().is_half_open());
    // Its slot is back: the next call probes.
    let mut next = service.ready().await.unwrap().call(());
    assert!(
        Pin::new(&mut next).poll(&mut cx).is_pending(),
        "admitted as the probe"
    );
}

#[tokio::test]
async fn a_custom_classifier_decides_what_counts() {
    let (breaker, _clock) = manual("tower_classify");
    let calls = Arc::new(AtomicU32::new(0));
    let layer =
        FailFastLayer::new(breaker.clone()).classify(|result: &Result<u32, &str>| match result {
            Ok(n) if *n > 100 => Outcome::Failure, // an answer that means trouble
            Ok(_) => Outcome::Success,
            Err(_) => Outcome::Ignored,
        });
    let mut service = ServiceBuilder::new().layer(layer).service(counted(calls));
    let _ = service.ready().await.unwrap().call(true).await;
    assert!(breaker.state().is_closed(), "errors are ignored here");
    assert_eq!(breaker.stats().ignored, 1);
    assert!(service.ready().await.unwrap().call(false).await.is_ok());
    assert!(breaker.state().is_closed());
}

#[tokio::test]
async fn it_boxes_into_a_box_clone_service() {
    let (breaker, _clock) = manual("tower_boxed");
    let calls = Arc::new(AtomicU32::new(0));
    let service: BoxCloneService<bool, u32, Error<&'static str>> = BoxCloneService::new(
        ServiceBuilder::new()
            .layer(FailFastLayer::new(breaker.clone()))
            .service(counted(calls)),
    );
    let mut clone = service.clone();
    assert_eq!(clone.ready().await.unwrap().call(false).await.unwrap(), 1);
    let _ = clone.ready().await.unwrap().call(true).await;
    let mut other = service.clone();
    assert!(matches!(
        other.ready().await.unwrap().call(false).await,
        Err(Error::Open(_))
    ));
}

/// Polls `future` once, catching a panic.
fn poll_caught<F: Future>(future: Pin<&mut F>) -> std::thread::Result<Poll<F::Output>> {
    let waker = futures::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| future.poll(&mut cx)))
}

#[tokio::test]
async fn a_service_future_that_panics_counts_as_a_failure() {
    let (breaker, _clock) = manual("tower_panics");
    let mut service = FailFastLayer::new(breaker.clone()).layer(service_fn(|_: ()| {
        std::future::poll_fn(|_| -> Poll<Result<(), &'static str>> {
            panic!("the inner future panics")
        })
    }));
    let mut future = Box::pin(service.ready().await.unwrap().call(()));
    assert!(poll_caught(future.as_mut()).is_err(), "the panic goes on");
    assert!(breaker.state().is_closed(), "counted when the future goes");
    drop(future);
    assert_eq!(breaker.stats().failures, 1);
    assert!(breaker.state().is_open());
}

#[tokio::test]
async fn a_classifier_that_panics_counts_as_a_failure() {
    let (breaker, _clock) = manual("tower_classifier_panics");
    let calls = Arc::new(AtomicU32::new(0));
    let layer = FailFastLayer::new(breaker.clone())
        .classify(|_: &Result<u32, &str>| -> Outcome { panic!("the classifier panics") });
    let mut service = layer.layer(counted(calls.clone()));
    let mut future = Box::pin(service.ready().await.unwrap().call(false));
    assert!(poll_caught(future.as_mut()).is_err());
    drop(future);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(breaker.stats().failures, 1);
    assert!(breaker.state().is_open());
}

#[tokio::test]
async fn a_response_future_polled_again_after_its_answer_panics_and_counts_once() {
    let (breaker, _clock) = manual("tower_polled_twice");
    let calls = Arc::new(AtomicU32::new(0));
    let mut service = FailFastLayer::new(breaker.clone()).layer(counted(calls));
    let mut future = Box::pin(service.ready().await.unwrap().call(false));
    assert!(matches!(
        poll_caught(future.as_mut()),
        Ok(Poll::Ready(Ok(1)))
    ));
    let again = poll_caught(future.as_mut()).expect_err("a completed future panics");
    let message = again.downcast_ref::<&str>().copied().unwrap_or_default();
    assert!(message.contains("polled after completion"), "{message}");
    drop(future);
    let stats = breaker.stats();
    assert_eq!((stats.successes, stats.failures), (1, 0));
    assert!(breaker.state().is_closed());
}
