//! Metrics as a test reads them: a snapshot of a `metrics_util` debugging recorder, and the
//! values of its series.

use metrics_util::debugging::{DebugValue, Snapshotter};

/// One metric of a snapshot: a counter's count or a gauge's value.
pub struct Metric {
    /// The metric's name.
    pub name: String,
    /// Its labels, as (key, value).
    pub labels: Vec<(String, String)>,
    /// A counter's count, or a gauge's value.
    pub value: f64,
}

/// The value of the metric `name` with exactly `labels`, if there is one.
pub fn value(metrics: &[Metric], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let matches = |metric: &&Metric| {
        metric.name == name
            && metric.labels.len() == labels.len()
            && labels
                .iter()
                .all(|(k, v)| metric.labels.contains(&(k.to_string(), v.to_string())))
    };
    metrics.iter().find(matches).map(|metric| metric.value)
}

/// What `failfast_state` shows of `circuit`: the gauges of `closed`, `open` and `half_open`.
pub fn states(metrics: &[Metric], circuit: &str) -> [Option<f64>; 3] {
    ["closed", "open", "half_open"].map(|state| {
        value(
            metrics,
            "failfast_state",
            &[("circuit", circuit), ("state", state)],
        )
    })
}

/// [`states`] of a closed circuit.
pub const CLOSED: [Option<f64>; 3] = [Some(1.0), Some(0.0), Some(0.0)];
/// [`states`] of an open circuit.
pub const OPEN: [Option<f64>; 3] = [Some(0.0), Some(1.0), Some(0.0)];
/// [`states`] of a half-open circuit.
pub const HALF_OPEN: [Option<f64>; 3] = [Some(0.0), Some(0.0), Some(1.0)];

/// The metrics recorded since the last snapshot: counters count from it, gauges are reset by it.
pub fn snapshot(snapshotter: &Snapshotter) -> Vec<Metric> {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _unit, _description, value)| {
            let key = key.key();
            Metric {
                name: key.name().to_owned(),
                labels: key
                    .labels()
                    .map(|l| (l.key().to_owned(), l.value().to_owned()))
                    .collect(),
                value: match value {
                    DebugValue::Counter(count) => count as f64,
                    DebugValue::Gauge(gauge) => gauge.0,
                    DebugValue::Histogram(_) => f64::NAN,
                },
            }
        })
        .collect()
}
