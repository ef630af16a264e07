//! Guarded functions that call guarded functions on the same circuit, or themselves: a call
//! nested in a probe runs as part of the probe, so the circuit can close again.

use failfast::{Breaker, ManualClock, Phase, failfast};
use futures::executor::block_on;
use tests::{SEC, manual};

#[derive(Debug, thiserror::Error)]
enum ApiError {
    #[error("down")]
    Down,
    #[error(transparent)]
    Open(#[from] failfast::Open),
}

/// A service whose guarded methods call each other, all on one circuit.
struct Service {
    breaker: Breaker,
    clock: ManualClock,
    up: bool,
}

impl Service {
    /// A half-open service with one probe permit, and its backend up or down.
    fn half_open(name: &'static str, up: bool) -> Service {
        let (builder, clock) = manual(name);
        let breaker = builder.open_for(SEC).build().unwrap();
        breaker.force_open(SEC);
        clock.advance(SEC);
        assert_eq!(breaker.state().phase(), Phase::HalfOpen);
        Service { breaker, clock, up }
    }

    #[failfast(breaker = self.breaker)]
    fn outer(&self) -> Result<u32, ApiError> {
        Ok(self.inner()? + 1)
    }

    #[failfast(breaker = self.breaker)]
    fn inner(&self) -> Result<u32, ApiError> {
        if self.up { Ok(1) } else { Err(ApiError::Down) }
    }

    #[failfast(breaker = self.breaker)]
    fn countdown(&self, n: u32) -> Result<u32, ApiError> {
        if n == 0 {
            return self.inner();
        }
        Ok(self.countdown(n - 1)? + 1)
    }

    #[failfast(breaker = self.breaker)]
    async fn outer_async(&self) -> Result<u32, ApiError> {
        Ok(self.inner_async().await? + 1)
    }

    #[failfast(breaker = self.breaker)]
    async fn inner_async(&self) -> Result<u32, ApiError> {
        if self.up { Ok(1) } else { Err(ApiError::Down) }
    }
}

#[test]
fn a_probe_that_calls_through_its_own_circuit_closes_it() {
    let service = Service::half_open("nested_sync", true);
    assert_eq!(
        service.outer().unwrap(),
        2,
        "the inner call ran within the probe"
    );
    assert_eq!(service.breaker.state().phase(), Phase::Closed);
    let stats = service.breaker.stats();
    assert_eq!(
        (stats.successes, stats.rejected),
        (1, 0),
        "one probe, counted once"
    );
}

#[test]
fn a_recursive_guarded_function_probes_as_one_call() {
    let service = Service::half_open("nested_recursive", true);
    assert_eq!(service.countdown(5).unwrap(), 6);
    assert_eq!(service.breaker.state().phase(), Phase::Closed);
}

#[test]
fn an_async_probe_that_awaits_its_own_circuit_closes_it() {
    let service = Service::half_open("nested_async", true);
    assert_eq!(block_on(service.outer_async()).unwrap(), 2);
    assert_eq!(service.breaker.state().phase(), Phase::Closed);
}

#[test]
fn a_nested_call_that_fails_fails_the_probe() {
    let service = Service::half_open("nested_down", false);
    assert!(matches!(service.outer(), Err(ApiError::Down)));
    assert_eq!(service.breaker.state().phase(), Phase::Open);
    service.clock.advance(SEC);
    assert!(matches!(
        block_on(service.outer_async()),
        Err(ApiError::Down)
    ));
    assert_eq!(service.breaker.state().phase(), Phase::Open);
}

#[test]
fn only_the_probing_thread_joins_its_probe() {
    let service = Service::half_open("nested_other_thread", true);
    let permit = service.breaker.try_acquire().unwrap();
    std::thread::scope(|s| {
        s.spawn(|| {
            assert!(
                matches!(service.inner(), Err(ApiError::Open(_))),
                "the one permit is taken"
            );
        });
    });
    permit.success();
    assert_eq!(service.breaker.state().phase(), Phase::Closed);
}

#[test]
fn a_call_on_another_circuit_inside_a_probe_is_not_part_of_it() {
    let service = Service::half_open("nested_outer_circuit", true);
    let other = Service::half_open("nested_inner_circuit", true);
    let probe = service.breaker.call(|| {
        let permit = other.breaker.try_acquire().expect("other's own probe");
        assert!(other.breaker.try_acquire().is_err(), "other has one permit");
        permit.success();
        Ok::<_, ApiError>(())
    });
    assert!(probe.is_ok());
    assert_eq!(other.breaker.state().phase(), Phase::Closed);
}
