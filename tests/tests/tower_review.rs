//! The tower layer under attack (an adversarial review). Tests whose comment starts "Once,"
//! are regressions of the bugs it found; `// DOC GAP:` and `// NIT:` tests pin down behaviour
//! the docs describe; the rest pin down behaviour that held up.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use failfast::service::{FailFastLayer, Outcome};
use failfast::{Breaker, Clock, Error, ManualClock};
use tower::{Layer, Service, ServiceExt, service_fn};

fn manual(name: &'static str) -> (Breaker, ManualClock) {
    let (builder, clock) = tests::manual(name);
    (
        builder.open_for(Duration::from_secs(10)).build().unwrap(),
        clock,
    )
}

/// A breaker already half-open, with `probes` probe slots.
fn half_open(name: &'static str, probes: u32) -> (Breaker, ManualClock) {
    let (builder, clock) = tests::manual(name);
    let breaker = builder
        .open_for(Duration::from_secs(10))
        .probes(probes)
        .probe_timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    breaker.force_open(Duration::from_secs(10));
    clock.advance(Duration::from_secs(10));
    assert!(breaker.state().is_half_open());
    (breaker, clock)
}

/// A clock without alarms: the circuit moves to half-open only when a call looks.
#[derive(Debug, Default, Clone)]
struct Stopwatch(Arc<AtomicU64>);

impl Stopwatch {
    fn advance(&self, by: Duration) {
        self.0.fetch_add(by.as_nanos() as u64, Ordering::SeqCst);
    }
}

impl Clock for Stopwatch {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.0.load(Ordering::SeqCst))
    }
}

/// Counts its wake-ups.
#[derive(Default)]
struct CountingWaker(AtomicU32);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn noop_cx() -> Context<'static> {
    Context::from_waker(Waker::noop())
}

fn caught<T>(f: impl FnOnce() -> T) -> std::thread::Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
}

/// A future that never completes.
struct Hangs;

impl Future for Hangs {
    type Output = Result<u32, &'static str>;
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Self::Output> {
        Poll::Pending
    }
}

/// A hand-written service: ready when `ready` says so (otherwise it keeps the waker), counts
/// its calls, and panics if called while not ready.
#[derive(Clone, Default)]
struct Gate {
    ready: Arc<AtomicBool>,
    waker: Arc<Mutex<Option<Waker>>>,
    calls: Arc<AtomicU32>,
    /// Once called, it holds its one slot until `ready` is set again (a concurrency limit of 1).
    one_slot: bool,
    /// Its futures never complete.
    hang: bool,
}

impl Service<()> for Gate {
    type Response = u32;
    type Error = &'static str;
    type Future = Pin<Box<dyn Future<Output = Result<u32, &'static str>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        if self.ready.load(Ordering::SeqCst) {
            Poll::Ready(Ok(()))
        } else {
            *self.waker.lock().unwrap() = Some(cx.waker().clone());
            Poll::Pending
        }
    }

    fn call(&mut self, _: ()) -> Self::Future {
        assert!(
            self.ready.load(Ordering::SeqCst),
            "the inner service was called while not ready"
        );
        if self.one_slot {
            self.ready.store(false, Ordering::SeqCst);
        }
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if self.hang {
            Box::pin(Hangs)
        } else {
            Box::pin(std::future::ready(Ok(n)))
        }
    }
}

fn gate(ready: bool) -> Gate {
    let gate = Gate::default();
    gate.ready.store(ready, Ordering::SeqCst);
    gate
}

// ---------------------------------------------------------------------------------------------
// Bugs the review found
// ---------------------------------------------------------------------------------------------

// Once, the same breaker layered twice (FailFast(b) -> any middleware -> FailFast(b)) never
// closed. The outer `call` takes the only probe permit and then calls the inner service
// synchronously, outside the `Probing` context (which only covers polling the response future),
// so the inner FailFast asked for a permit of its own, was refused, and its refusal became the
// probe's failure: the circuit reopened after every probe. (`Breaker::call`/`run` nest fine.)
#[tokio::test]
async fn the_same_breaker_layered_twice_closes_after_a_good_probe() {
    let (breaker, clock) = half_open("review_nested_layers", 1);
    let calls = Arc::new(AtomicU32::new(0));
    let inner = FailFastLayer::new(breaker.clone()).layer(service_fn({
        let calls = calls.clone();
        move |_: ()| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Ok::<_, &'static str>(7) }
        }
    }));
    let mut outer = FailFastLayer::new(breaker.clone()).layer(inner);
    for _ in 0..3 {
        let answer = outer.ready().await.unwrap().call(()).await;
        if breaker.state().is_closed() {
            break;
        }
        assert!(breaker.state().is_open(), "{answer:?}");
        clock.advance(Duration::from_secs(60)); // the next probe
    }
    assert!(
        breaker.state().is_closed(),
        "a healthy dependency behind two layers of one breaker never closes the circuit: {:?}",
        breaker.stats()
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1, "the dependency is healthy");
}

// Once, a panic in the inner service's `call` (its synchronous part) was not counted: `call`
// built the `OwnedPermit` with `fail_on_drop: false` before `self.inner.call(request)`, so the
// unwinding drop released it as if the call had been cancelled. A panic in the inner future
// counts as a failure; a service whose `call` always panics never opens the circuit (and in
// half-open every panicking probe gives its slot back, so it probes forever).
#[tokio::test]
async fn a_panic_in_the_inner_call_counts_as_a_failure() {
    #[derive(Clone)]
    struct PanicsInCall;
    impl Service<()> for PanicsInCall {
        type Response = ();
        type Error = &'static str;
        type Future = std::future::Ready<Result<(), &'static str>>;
        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }
        fn call(&mut self, _: ()) -> Self::Future {
            panic!("the inner service's call panics")
        }
    }
    let (breaker, _clock) = manual("review_panicking_call");
    let mut service = FailFastLayer::new(breaker.clone()).layer(PanicsInCall);
    service.ready().await.unwrap();
    assert!(caught(|| service.call(())).is_err(), "the panic goes on");
    assert_eq!(
        breaker.stats().failures,
        1,
        "a panic in the guarded call counts, as in Breaker::call"
    );
    assert!(breaker.state().is_open());
}

// Documented: a caller already parked in `poll_ready` when the circuit opens waits for the
// inner service, which holds its waker (as with tower's load-shed); polled again, `poll_ready`
// answers at once. Waking it would take a list of wakers in every circuit.
#[test]
fn a_caller_parked_in_poll_ready_when_the_circuit_opens_waits_for_the_inner_service() {
    let (breaker, _clock) = manual("review_parked_caller");
    let inner = gate(false);
    let mut service = FailFastLayer::new(breaker.clone()).layer(inner.clone());
    let woken = Arc::new(CountingWaker::default());
    let waker = Waker::from(woken.clone());
    let mut cx = Context::from_waker(&waker);
    assert!(service.poll_ready(&mut cx).is_pending(), "closed: waits");

    breaker.force_open(Duration::from_secs(10)); // e.g. another clone's call failed
    assert_eq!(
        woken.0.load(Ordering::SeqCst),
        0,
        "not woken by the circuit"
    );
    assert!(
        service.poll_ready(&mut noop_cx()).is_ready(),
        "polled again, it answers at once"
    );
}

// Once, a half-open circuit with every probe slot taken refused calls, yet `poll_ready` still
// waited for the inner service (`is_refusing` only looked at "open"): behind an inner service
// of limited capacity held by a hung probe, every other caller blocked.
#[test]
fn half_open_with_every_probe_taken_is_ready_without_the_inner_service() {
    let (breaker, _clock) = half_open("review_half_open_full", 1);
    let mut inner = gate(true);
    inner.one_slot = true;
    inner.hang = true;
    let mut a = FailFastLayer::new(breaker.clone()).layer(inner.clone());
    let mut b = a.clone();
    assert!(a.poll_ready(&mut noop_cx()).is_ready());
    let mut probe = a.call(());
    assert!(Pin::new(&mut probe).poll(&mut noop_cx()).is_pending());
    assert!(breaker.try_acquire().is_err(), "a call now is refused");
    assert!(
        b.poll_ready(&mut noop_cx()).is_ready(),
        "a caller whose call would be refused waits for the inner service the probe holds"
    );
}

// ---------------------------------------------------------------------------------------------
// Documentation gaps and nits (passing: they pin down today's behaviour)
// ---------------------------------------------------------------------------------------------

// Once, an error from the inner service's `poll_ready` (tower's Reconnect and balancers report
// connection failures there) was passed on and never counted: a dependency that only failed
// there never opened the circuit.
#[tokio::test]
async fn poll_ready_errors_count_as_failures() {
    #[derive(Clone)]
    struct CannotConnect;
    impl Service<()> for CannotConnect {
        type Response = ();
        type Error = &'static str;
        type Future = std::future::Ready<Result<(), &'static str>>;
        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Err("connection refused"))
        }
        fn call(&mut self, _: ()) -> Self::Future {
            unreachable!("never ready")
        }
    }
    let (breaker, _clock) = manual("review_poll_ready_error");
    let service = FailFastLayer::new(breaker.clone()).layer(CannotConnect);
    let failed = service.clone().ready().await.err();
    assert!(matches!(failed, Some(Error::Inner("connection refused"))));
    assert_eq!(breaker.stats().failures, 1);
    assert!(breaker.state().is_open());
    // Open: ready at once, refused without the inner service.
    let refused = service.clone().oneshot(()).await;
    assert!(matches!(refused, Err(Error::Open(_))));
}

// DOC GAP: a time-out placed outside the layer (`ServiceBuilder::new().timeout(..).layer(ff)`)
// cancels the response future, which records nothing: a hung dependency never opens the
// circuit. The docs should say to put the time-out inside the layer, so its error is counted.
#[tokio::test(start_paused = true)]
async fn doc_gap_a_time_out_outside_the_layer_counts_nothing() {
    let (breaker, _clock) = manual("review_outer_timeout");
    let mut service = FailFastLayer::new(breaker.clone()).layer(service_fn(|_: ()| Hangs));
    for _ in 0..5 {
        let call = service.ready().await.unwrap().call(());
        assert!(
            tokio::time::timeout(Duration::from_secs(1), call)
                .await
                .is_err()
        );
    }
    assert!(breaker.state().is_closed(), "five time-outs, never opened");
    let stats = breaker.stats();
    assert_eq!((stats.failures, stats.successes), (0, 0));
}

// DOC GAP: with `per_request` there is no breaker before the request, so `poll_ready` always
// waits for the inner service, even for a host whose circuit is open: the module's "a refused
// call never waits for the inner service" holds only for a single breaker.
#[test]
fn doc_gap_per_request_waits_for_the_inner_service_while_open() {
    let (breaker, _clock) = manual("review_per_request_open");
    breaker.force_open(Duration::from_secs(10));
    let chosen = breaker.clone();
    let mut service = FailFastLayer::per_request(move |_: &()| chosen.clone()).layer(gate(false));
    assert!(service.poll_ready(&mut noop_cx()).is_pending());
}

// NIT: a `call` without `poll_ready` (or a second `call` after one `poll_ready`) while the
// circuit is closed is answered `Error::Open` "retry now": the caller's contract violation is
// reported as an open circuit that is not open, and is neither counted in `stats().rejected`
// nor heard by `on_rejected` listeners. Tower's own middleware panics here; at least the docs
// should say what happens.
#[tokio::test]
async fn nit_a_call_without_poll_ready_is_reported_as_an_open_circuit() {
    let (breaker, _clock) = manual("review_call_without_ready");
    let inner = gate(true);
    let mut service = FailFastLayer::new(breaker.clone()).layer(inner.clone());
    let answer = service.call(()).await;
    let Err(Error::Open(open)) = answer else {
        panic!("{answer:?}")
    };
    assert_eq!(open.retry_in(), Duration::ZERO);
    assert!(breaker.state().is_closed());
    assert_eq!(breaker.stats().rejected, 0);

    service.ready().await.unwrap();
    assert_eq!(service.call(()).await.unwrap(), 1);
    assert!(
        matches!(service.call(()).await, Err(Error::Open(_))),
        "twice"
    );
    assert_eq!(inner.calls.load(Ordering::SeqCst), 1, "never unready calls");

    // `.http()` turns it into a 503 with Retry-After: 1 while the circuit is closed.
    let mut http = FailFastLayer::new(breaker.clone())
        .http()
        .layer(service_fn(|_: ()| async {
            Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
        }));
    let response = http.call(()).await.unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
}

// NIT: a breaker disabled between `poll_ready` (which saw it open and skipped the inner service)
// and `call` refuses that one call, although "a disabled breaker runs every call".
#[tokio::test]
async fn nit_a_breaker_disabled_after_poll_ready_refuses_once() {
    let (breaker, _clock) = manual("review_disabled_race");
    breaker.force_open(Duration::from_secs(10));
    let inner = gate(true);
    let mut service = FailFastLayer::new(breaker.clone()).layer(inner.clone());
    assert!(service.poll_ready(&mut noop_cx()).is_ready());
    breaker.set_enabled(false);
    assert!(matches!(service.call(()).await, Err(Error::Open(_))));
    assert_eq!(service.ready().await.unwrap().call(()).await.unwrap(), 1);
    assert_eq!(inner.calls.load(Ordering::SeqCst), 1);
}

// ---------------------------------------------------------------------------------------------
// Attacks that held up
// ---------------------------------------------------------------------------------------------

/// poll_ready sees "open" (skipping the inner service), the open period ends before `call`: the
/// inner service is not called unready, the probe permit comes back, and the next call probes.
#[tokio::test]
async fn the_open_period_ending_between_poll_ready_and_call_leaks_no_probe() {
    for alarms in [true, false] {
        let stopwatch = Stopwatch::default();
        let manual = ManualClock::new();
        let builder = Breaker::builder("review_race_ready_call").open_for(Duration::from_secs(10));
        let breaker = if alarms {
            builder.clock(manual.clone()).build().unwrap()
        } else {
            builder.clock(stopwatch.clone()).build().unwrap()
        };
        let advance = |by| {
            if alarms {
                manual.advance(by)
            } else {
                stopwatch.advance(by)
            }
        };
        breaker.force_open(Duration::from_secs(10));
        let inner = gate(false); // not ready: poll_ready must not have asked it
        let mut service = FailFastLayer::new(breaker.clone()).layer(inner.clone());
        assert!(service.poll_ready(&mut noop_cx()).is_ready());
        advance(Duration::from_secs(10));
        let refused = service.call(()).await;
        let Err(Error::Open(open)) = refused else {
            panic!("{refused:?}")
        };
        assert_eq!(open.retry_in(), Duration::ZERO);
        assert_eq!(inner.calls.load(Ordering::SeqCst), 0);
        assert!(breaker.state().is_half_open());
        // The probe slot came back: once the inner service is ready, the next call probes.
        inner.ready.store(true, Ordering::SeqCst);
        assert_eq!(service.ready().await.unwrap().call(()).await.unwrap(), 1);
        assert!(breaker.state().is_closed());
    }
}

/// Many clones racing on many threads in half-open: exactly `probes` reach the inner service.
#[test]
fn concurrent_half_open_calls_through_clones_admit_exactly_the_probes() {
    const PROBES: u32 = 3;
    const CALLERS: usize = 16;
    let (breaker, _clock) = half_open("review_concurrent_probes", PROBES);
    let mut inner = gate(true);
    inner.hang = true;
    let service = FailFastLayer::new(breaker.clone()).layer(inner.clone());
    let barrier = Arc::new(Barrier::new(CALLERS));
    let threads: Vec<_> = (0..CALLERS)
        .map(|_| {
            let mut service = service.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                assert!(service.poll_ready(&mut noop_cx()).is_ready());
                let mut future = service.call(());
                match Pin::new(&mut future).poll(&mut noop_cx()) {
                    Poll::Pending => Some(future), // a probe: keep it in flight
                    Poll::Ready(Err(Error::Open(_))) => None,
                    other => panic!("{other:?}"),
                }
            })
        })
        .collect();
    let probes: Vec<_> = threads
        .into_iter()
        .filter_map(|t| t.join().unwrap())
        .collect();
    assert_eq!(probes.len(), PROBES as usize);
    assert_eq!(inner.calls.load(Ordering::SeqCst), PROBES);
    drop(probes); // all slots back
    assert!(breaker.try_acquire().map(|p| p.success()).is_ok());
}

/// A classifier that says `Ignored` to a probe gives the slot back: the circuit stays half-open
/// and the next call probes again (no slot is lost).
#[tokio::test]
async fn an_ignored_probe_gives_its_slot_back() {
    let (breaker, _clock) = half_open("review_ignored_probe", 1);
    let inner = gate(true);
    let layer = FailFastLayer::new(breaker.clone()).classify(|r: &Result<u32, &str>| match r {
        Ok(n) if *n < 3 => Outcome::Ignored,
        Ok(_) => Outcome::Success,
        Err(_) => Outcome::Failure,
    });
    let mut service = layer.layer(inner.clone());
    for n in 1..=2 {
        assert_eq!(service.ready().await.unwrap().call(()).await.unwrap(), n);
        assert!(breaker.state().is_half_open());
    }
    assert_eq!(service.ready().await.unwrap().call(()).await.unwrap(), 3);
    assert!(breaker.state().is_closed());
    assert_eq!(breaker.stats().ignored, 2);
}

/// A probe that hangs through the layer: after the probe timeout its slot goes to another call;
/// its late answer is stale and ignored; its late drop changes nothing.
#[tokio::test]
async fn a_hung_probe_loses_its_slot_at_the_probe_timeout() {
    let (breaker, clock) = half_open("review_hung_probe", 1);
    let release = Arc::new(AtomicBool::new(false));
    let mut service = FailFastLayer::new(breaker.clone()).layer(service_fn({
        let release = release.clone();
        move |fail: bool| {
            let release = release.clone();
            std::future::poll_fn(move |_| {
                if release.load(Ordering::SeqCst) {
                    Poll::Ready(if fail { Err("late") } else { Ok(()) })
                } else {
                    Poll::Pending
                }
            })
        }
    }));
    let mut hung = service.ready().await.unwrap().call(true);
    assert!(Pin::new(&mut hung).poll(&mut noop_cx()).is_pending());
    let refused = service.ready().await.unwrap().call(false).await;
    let Err(Error::Open(open)) = refused else {
        panic!("{refused:?}")
    };
    assert_eq!(
        open.retry_in(),
        Duration::from_secs(60),
        "when the probe expires"
    );

    clock.advance(Duration::from_secs(60));
    let mut fresh = service.ready().await.unwrap().call(false);
    assert!(
        Pin::new(&mut fresh).poll(&mut noop_cx()).is_pending(),
        "a new probe"
    );
    release.store(true, Ordering::SeqCst);
    assert!(matches!(
        Pin::new(&mut hung).poll(&mut noop_cx()),
        Poll::Ready(Err(Error::Inner("late")))
    ));
    assert!(breaker.state().is_half_open(), "the late failure is stale");
    assert!(Pin::new(&mut fresh).poll(&mut noop_cx()).is_ready());
    assert!(breaker.state().is_closed());
}

/// `force_open` while a probe and a closed call are in flight: their late outcomes and drops
/// change nothing in the new period.
#[tokio::test]
async fn force_open_while_calls_are_in_flight() {
    let (breaker, clock) = half_open("review_force_open_in_flight", 1);
    let mut hanging = FailFastLayer::new(breaker.clone()).layer(service_fn(|_: ()| Hangs));
    let probe = hanging.ready().await.unwrap().call(());
    let mut succeeds =
        FailFastLayer::new(breaker.clone()).layer(service_fn(|_: ()| async { Ok::<_, ()>(1) }));
    breaker.force_open(Duration::from_secs(30));
    drop(probe);
    assert!(breaker.state().is_open());
    clock.advance(Duration::from_secs(30));
    // Half-open again; a call from the closed period finishing late does not count here.
    breaker.reset();
    let mut fails = FailFastLayer::new(breaker.clone())
        .layer(service_fn(|_: ()| async { Err::<u32, _>("down") }));
    let closed_call = fails.ready().await.unwrap().call(());
    breaker.force_open(Duration::from_secs(30));
    clock.advance(Duration::from_secs(30));
    assert!(breaker.state().is_half_open());
    assert!(matches!(closed_call.await, Err(Error::Inner("down"))));
    assert!(breaker.state().is_half_open(), "stale failure ignored");
    assert_eq!(succeeds.ready().await.unwrap().call(()).await.unwrap(), 1);
    assert!(breaker.state().is_closed());
}

/// A disabled breaker polls the inner service, calls it even while open, and records nothing.
#[tokio::test]
async fn a_disabled_breaker_is_a_pass_through() {
    let (breaker, _clock) = manual("review_disabled");
    breaker.force_open(Duration::from_secs(10));
    breaker.set_enabled(false);
    let inner = gate(false);
    let mut service = FailFastLayer::new(breaker.clone()).layer(inner.clone());
    assert!(
        service.poll_ready(&mut noop_cx()).is_pending(),
        "asks the inner"
    );
    inner.ready.store(true, Ordering::SeqCst);
    assert_eq!(service.ready().await.unwrap().call(()).await.unwrap(), 1);
    let stats = breaker.stats();
    assert_eq!((stats.successes, stats.rejected), (0, 0));
    assert!(breaker.state().is_open());
}

/// A `per_request` closure that panics in `call`: no permit is taken, the inner service is not
/// called, and the service works afterwards.
#[tokio::test]
async fn a_panicking_per_request_closure_leaks_nothing() {
    let (breaker, _clock) = half_open("review_per_request_panics", 1);
    let chosen = breaker.clone();
    let inner = gate(true);
    let mut service = FailFastLayer::per_request(move |fail: &bool| {
        assert!(!fail, "the chooser panics");
        chosen.clone()
    })
    .layer(service_fn({
        let inner = inner.clone();
        move |_: bool| inner.clone().oneshot(())
    }));
    service.ready().await.unwrap();
    assert!(caught(|| service.call(true)).is_err());
    assert_eq!(inner.calls.load(Ordering::SeqCst), 0);
    assert!(service.call(false).await.is_err(), "not ready any more");
    assert_eq!(service.ready().await.unwrap().call(false).await.unwrap(), 1);
    assert!(breaker.state().is_closed(), "the probe slot was free");
}

/// Per-request breakers chosen inconsistently for one request: each call is bound to the breaker
/// chosen in its `call`.
#[tokio::test]
async fn a_per_request_closure_may_choose_differently_each_time() {
    let (a, _ca) = manual("review_choose_a");
    let (b, _cb) = manual("review_choose_b");
    let flip = Arc::new(AtomicBool::new(false));
    let choose = {
        let (a, b, flip) = (a.clone(), b.clone(), flip.clone());
        move |_: &()| {
            if flip.fetch_xor(true, Ordering::SeqCst) {
                b.clone()
            } else {
                a.clone()
            }
        }
    };
    let mut service = FailFastLayer::per_request(choose)
        .layer(service_fn(|_: ()| async { Err::<(), _>("down") }));
    let _ = service.ready().await.unwrap().call(()).await;
    let _ = service.ready().await.unwrap().call(()).await;
    assert!(a.state().is_open() && b.state().is_open());
    assert_eq!((a.stats().failures, b.stats().failures), (1, 1));
}

/// A listener that panics on the move to half-open inside `call` (a clock without alarms):
/// the probe permit is given back and the inner service is not called.
#[tokio::test]
async fn a_transition_listener_panicking_in_call_gives_the_probe_back() {
    let stopwatch = Stopwatch::default();
    let explode = Arc::new(AtomicBool::new(true));
    let breaker = Breaker::builder("review_listener_panics")
        .open_for(Duration::from_secs(10))
        .clock(stopwatch.clone())
        .on_transition({
            let explode = explode.clone();
            move |t| {
                if t.to == failfast::Phase::HalfOpen && explode.swap(false, Ordering::SeqCst) {
                    panic!("listener");
                }
            }
        })
        .build()
        .unwrap();
    breaker.force_open(Duration::from_secs(10));
    stopwatch.advance(Duration::from_secs(10));
    let inner = gate(true);
    let mut service = FailFastLayer::new(breaker.clone()).layer(inner.clone());
    service.ready().await.unwrap();
    assert!(caught(|| service.call(())).is_err());
    assert_eq!(inner.calls.load(Ordering::SeqCst), 0);
    assert!(breaker.state().is_half_open());
    assert_eq!(service.ready().await.unwrap().call(()).await.unwrap(), 1);
    assert!(breaker.state().is_closed());
}

/// A listener that panics when it hears the outcome: the outcome is counted, then the panic
/// goes on out of the response future's poll (the response is lost, as with `Breaker::call`).
#[tokio::test]
async fn an_outcome_listener_panicking_in_poll_counts_once() {
    let (clock, breaker) = {
        let clock = ManualClock::new();
        let breaker = Breaker::builder("review_outcome_listener")
            .open_for(Duration::from_secs(10))
            .clock(clock.clone())
            .on_success(|_| panic!("listener"))
            .build()
            .unwrap();
        (clock, breaker)
    };
    let _ = clock;
    let mut service = FailFastLayer::new(breaker.clone()).layer(gate(true));
    let mut future = Box::pin(service.ready().await.unwrap().call(()));
    assert!(caught(|| future.as_mut().poll(&mut noop_cx())).is_err());
    drop(future);
    let stats = breaker.stats();
    assert_eq!((stats.successes, stats.failures), (1, 0));
}

/// Retry-After is whole seconds, at least 1, for huge and for tiny open periods.
#[tokio::test]
async fn retry_after_for_huge_and_tiny_open_periods() {
    let (breaker, _clock) = manual("review_retry_after");
    let mut service = FailFastLayer::new(breaker.clone())
        .http()
        .layer(service_fn(|_: ()| async {
            Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
        }));
    breaker.force_open(Duration::MAX);
    let response = service.ready().await.unwrap().call(()).await.unwrap();
    assert_eq!(response.status(), 503);
    let secs: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(secs > 100 * 365 * 24 * 3600, "{secs}");
    breaker.force_open(Duration::from_millis(1));
    let response = service.ready().await.unwrap().call(()).await.unwrap();
    assert_eq!(response.headers()["retry-after"], "1");
}

/// A fallback that panics: the panic goes on from the refused call's poll, nothing is recorded
/// but the rejection, and the inner service is never called.
#[tokio::test]
async fn a_panicking_fallback_records_only_the_rejection() {
    let (breaker, _clock) = manual("review_fallback_panics");
    breaker.force_open(Duration::from_secs(10));
    let calls = Arc::new(AtomicU32::new(0));
    let mut service = FailFastLayer::new(breaker.clone())
        .http()
        .fallback(|_: &failfast::Open| -> http::Response<String> { panic!("fallback") })
        .layer(service_fn({
            let calls = calls.clone();
            move |_: ()| {
                calls.fetch_add(1, Ordering::SeqCst);
                async { Ok::<_, std::convert::Infallible>(http::Response::new(String::new())) }
            }
        }));
    let mut future = Box::pin(service.ready().await.unwrap().call(()));
    assert!(caught(|| future.as_mut().poll(&mut noop_cx())).is_err());
    let again = caught(|| future.as_mut().poll(&mut noop_cx())).unwrap_err();
    let message = again
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| again.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    assert!(message.contains("polled after completion"), "{message}");
    let stats = breaker.stats();
    assert_eq!((stats.rejected, stats.failures, stats.successes), (1, 0, 0));
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

/// A probe whose inner future panics leaves no `Probing` mark on the thread: a later call on
/// that thread asks for a permit of its own (refused: the panicked probe still holds the slot).
#[tokio::test]
async fn a_panicking_probe_leaves_no_probing_mark() {
    let (breaker, _clock) = half_open("review_probing_leak", 1);
    let mut service = FailFastLayer::new(breaker.clone()).layer(service_fn(|_: ()| {
        std::future::poll_fn(|_| -> Poll<Result<(), &'static str>> { panic!("probe") })
    }));
    let mut probe = Box::pin(service.ready().await.unwrap().call(()));
    assert!(caught(|| probe.as_mut().poll(&mut noop_cx())).is_err());
    assert!(
        breaker.call(|| Ok::<_, ()>(())).unwrap_err().is_open(),
        "not run as part of the probe"
    );
    drop(probe);
    assert!(
        breaker.state().is_open(),
        "the panic counted as the probe's failure"
    );
}

/// A probe polled on one thread, then on another: the `Probing` mark lives only during each
/// poll, on the polling thread.
#[test]
fn a_probe_polled_across_threads_marks_only_during_each_poll() {
    let (breaker, _clock) = half_open("review_probing_threads", 1);
    let polls = Arc::new(AtomicU32::new(0));
    let nested = breaker.clone();
    let mut service = FailFastLayer::new(breaker.clone()).layer(service_fn({
        let polls = polls.clone();
        move |_: ()| {
            let (polls, nested) = (polls.clone(), nested.clone());
            std::future::poll_fn(move |_| {
                // A nested call during the probe runs as part of it.
                assert_eq!(nested.call(|| Ok::<_, ()>(5)).unwrap(), 5);
                if polls.fetch_add(1, Ordering::SeqCst) == 0 {
                    Poll::Pending
                } else {
                    Poll::Ready(Ok::<_, &'static str>(()))
                }
            })
        }
    }));
    assert!(service.poll_ready(&mut noop_cx()).is_ready());
    let mut probe = Box::pin(service.call(()));
    assert!(probe.as_mut().poll(&mut noop_cx()).is_pending());
    assert!(
        breaker.call(|| Ok::<_, ()>(())).is_err(),
        "outside the poll"
    );
    let probe = std::thread::spawn(move || {
        let result = probe.as_mut().poll(&mut noop_cx());
        (probe, result)
    });
    let (_probe, result) = probe.join().unwrap();
    assert!(matches!(result, Poll::Ready(Ok(()))));
    assert!(breaker.state().is_closed());
}

/// The response future is Send + 'static for Send parts: it spawns on tokio; and a clone of a
/// ready service is not ready.
#[tokio::test]
async fn the_response_future_spawns_and_clones_are_not_ready() {
    let (breaker, _clock) = manual("review_spawn");
    let inner = gate(true);
    let mut service = FailFastLayer::new(breaker.clone()).layer(inner.clone());
    service.ready().await.unwrap();
    let mut clone = service.clone();
    assert!(
        clone.call(()).await.unwrap_err().is_open(),
        "clone not ready"
    );
    let future = service.call(());
    let answer = tokio::spawn(future).await.unwrap();
    assert_eq!(answer.unwrap(), 1);
    assert_eq!(inner.calls.load(Ordering::SeqCst), 1);
}
