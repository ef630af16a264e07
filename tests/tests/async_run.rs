//! `run` and `run_if`: outcomes, cancellation, panics.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Waker};

use failfast::{Phase, TripPolicy};
use tests::{SEC, manual};

#[tokio::test]
async fn run_counts_outcomes_like_call() {
    let (builder, _clock) = manual("async");
    let breaker = builder
        .trip(TripPolicy::consecutive_failures(2))
        .build()
        .unwrap();
    assert_eq!(breaker.run(async { Ok::<_, &str>(5) }).await.unwrap(), 5);
    let _ = breaker.run(async { Err::<(), _>("a") }).await;
    let ignored = breaker
        .run_if(|e: &&str| *e != "404", async { Err::<(), _>("404") })
        .await;
    assert_eq!(ignored.unwrap_err().into_inner(), Some("404"));
    let _ = breaker.run(async { Err::<(), _>("b") }).await;
    assert!(breaker.state().is_open());
    assert!(
        breaker
            .run(async { Ok::<_, &str>(1) })
            .await
            .unwrap_err()
            .is_open()
    );
    let stats = breaker.stats();
    assert_eq!(
        (
            stats.successes,
            stats.failures,
            stats.ignored,
            stats.rejected
        ),
        (1, 2, 1, 1)
    );
}

#[tokio::test(start_paused = true)]
async fn run_asks_for_its_permit_when_first_polled() {
    let (builder, _clock) = manual("lazy");
    let breaker = builder.build().unwrap();
    let later = breaker.run(async { Ok::<_, ()>(1) });
    breaker.force_open(SEC);
    assert!(
        later.await.unwrap_err().is_open(),
        "the circuit opened before the first poll"
    );
}

#[test]
fn a_probe_dropped_mid_call_records_nothing_and_gives_its_permit_back() {
    let (builder, clock) = manual("cancelled");
    let breaker = builder.open_for(SEC).build().unwrap();
    let _ = breaker.call(|| Err::<(), _>("down"));
    clock.advance(SEC);

    {
        let mut probe = pin!(breaker.run(std::future::pending::<Result<(), ()>>()));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(probe.as_mut().poll(&mut cx).is_pending());
        assert!(
            breaker.try_acquire().is_err(),
            "the pending probe holds the permit"
        );
    }

    assert_eq!(breaker.state().phase(), Phase::HalfOpen);
    let stats = breaker.stats();
    assert_eq!(
        (stats.calls, stats.failures),
        (1, 1),
        "only the first failure"
    );
    let permit = breaker.try_acquire().expect("the permit was given back");
    permit.success();
    assert!(breaker.state().is_closed());
}

#[tokio::test(start_paused = true)]
async fn a_timed_out_probe_is_cancelled_cleanly() {
    let (builder, clock) = manual("timeout");
    let breaker = builder.open_for(SEC).build().unwrap();
    let _ = breaker.call(|| Err::<(), _>("down"));
    clock.advance(SEC);
    let slow = breaker.run(async {
        tokio::time::sleep(std::time::Duration::from_secs(30)).await;
        Ok::<_, ()>(())
    });
    let timed_out = tokio::time::timeout(std::time::Duration::from_secs(5), slow).await;
    assert!(timed_out.is_err());
    assert_eq!(breaker.state().phase(), Phase::HalfOpen);
    assert!(breaker.run(async { Ok::<_, ()>(()) }).await.is_ok());
    assert!(breaker.state().is_closed());
}

#[tokio::test]
async fn a_panic_while_polling_counts_as_a_failure() {
    let (builder, _clock) = manual("async_panic");
    let breaker = builder.build().unwrap();
    let task = {
        let breaker = breaker.clone();
        tokio::spawn(async move {
            breaker
                .run(async {
                    if breaker.name().is_empty() {
                        return Ok::<(), ()>(());
                    }
                    panic!("bug in the call")
                })
                .await
        })
    };
    assert!(task.await.unwrap_err().is_panic());
    assert_eq!(breaker.stats().failures, 1);
    assert!(breaker.state().is_open());
}
