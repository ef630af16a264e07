//! `/metrics`: the circuits' states and counters, and the app's answers, exposed through the
//! `metrics` facade and rendered by its Prometheus exporter.

use failfast::{Breaker, Phase, RedisStore};
use metrics::{Unit, counter, describe_counter, describe_gauge, gauge, with_local_recorder};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusRecorder};

use super::routes::phase_name;
use crate::lock;

/// This app instance's metrics. Each instance keeps its own recorder rather than installing a
/// process-wide one, so that several instances can run in one process (as the tests do).
pub(super) struct Metrics {
    recorder: PrometheusRecorder,
    /// One scrape at a time: the three state gauges of a circuit are set one by one, and two
    /// scrapes on either side of a transition must not leave two of them at 1.
    rendering: std::sync::Mutex<()>,
}

impl Metrics {
    pub(super) fn new() -> Metrics {
        let recorder = PrometheusBuilder::new().build_recorder();
        with_local_recorder(&recorder, || {
            describe_gauge!(
                "failfast_circuit_state",
                "1 for the phase the circuit is in (closed, open, half_open), 0 for the others"
            );
            describe_counter!(
                "failfast_calls_total",
                Unit::Count,
                "Calls let through the circuit"
            );
            describe_counter!(
                "failfast_successes_total",
                Unit::Count,
                "Calls that succeeded"
            );
            describe_counter!(
                "failfast_failures_total",
                Unit::Count,
                "Calls that failed and counted"
            );
            describe_counter!(
                "failfast_ignored_total",
                Unit::Count,
                "Calls that failed with an error that does not count"
            );
            describe_counter!(
                "failfast_rejections_total",
                Unit::Count,
                "Calls refused without running because the circuit was open"
            );
            describe_counter!("failfast_transitions_total", Unit::Count, "Phase changes");
            describe_gauge!(
                "failfast_redis_store_connected",
                "1 while the Redis store is connected"
            );
            describe_counter!(
                "visits_answers_total",
                Unit::Count,
                "Answers to GET /, by kind: fresh, stale, unavailable, error"
            );
        });
        Metrics {
            recorder,
            rendering: std::sync::Mutex::new(()),
        }
    }

    /// Counts one answer to `GET /`.
    pub(super) fn answered(&self, kind: &'static str) {
        with_local_recorder(&self.recorder, || {
            counter!("visits_answers_total", "answer" => kind).increment(1)
        });
    }

    /// The exposition: every one of `breakers` as it is now, and the app's counters.
    pub(super) fn render(&self, breakers: &[Breaker], store: &RedisStore) -> String {
        let _one_at_a_time = lock(&self.rendering);
        with_local_recorder(&self.recorder, || {
            for breaker in breakers {
                let name = breaker.name().to_string();
                let phase = breaker.state().phase();
                for each in [Phase::Closed, Phase::Open, Phase::HalfOpen] {
                    let value = if each == phase { 1.0 } else { 0.0 };
                    gauge!("failfast_circuit_state", "circuit" => name.clone(), "state" => phase_name(each))
                        .set(value);
                }
                let stats = breaker.stats();
                let labels = [("circuit", name)];
                counter!("failfast_calls_total", &labels).absolute(stats.calls);
                counter!("failfast_successes_total", &labels).absolute(stats.successes);
                counter!("failfast_failures_total", &labels).absolute(stats.failures);
                counter!("failfast_ignored_total", &labels).absolute(stats.ignored);
                counter!("failfast_rejections_total", &labels).absolute(stats.rejected);
                counter!("failfast_transitions_total", &labels).absolute(stats.transitions);
            }
            gauge!("failfast_redis_store_connected").set(if store.is_connected() {
                1.0
            } else {
                0.0
            });
        });
        self.recorder.handle().render()
    }
}
