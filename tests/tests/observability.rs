//! Watching breakers from outside: `serde` forms of what they report, `tracing` logs of their
//! events (`observe::Tracing`) and `metrics` counts of them (`observe::Metrics`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use failfast::{
    Breaker, MemoryStore, Phase, Reason, Registry, State, Stats, Transition, TripPolicy, observe,
};
use metrics_util::debugging::DebuggingRecorder;
use serde_json::json;
use tests::logs::{containing, logs};
use tests::metrics::{CLOSED, HALF_OPEN, OPEN, snapshot, states, value};
use tests::{SEC, fail, manual, ok, refuses};

// serde

#[test]
fn a_state_serializes_as_its_phase_and_milliseconds_to_wait() {
    let (builder, clock) = manual("json_state");
    let breaker = builder.open_for(SEC).build().unwrap();
    let json = |state: State| serde_json::to_string(&state).unwrap();

    assert_eq!(json(breaker.state()), r#"{"phase":"closed"}"#);
    breaker.force_open(Duration::from_millis(1500));
    assert_eq!(
        json(breaker.state()),
        r#"{"phase":"open","retry_in_ms":1500}"#
    );
    clock.advance(Duration::from_micros(1_499_999));
    assert_eq!(
        json(breaker.state()),
        r#"{"phase":"open","retry_in_ms":1}"#,
        "time left to wait is rounded up, never shown as 0"
    );
    clock.advance(Duration::from_micros(1));
    assert_eq!(json(breaker.state()), r#"{"phase":"half_open"}"#);

    for state in [
        State::Closed,
        State::HalfOpen,
        State::Open {
            retry_in: Duration::from_millis(250),
        },
    ] {
        assert_eq!(serde_json::from_str::<State>(&json(state)).unwrap(), state);
    }
}

#[test]
fn stats_serialize_as_their_counts_and_read_back_missing_counts_as_zero() {
    let (builder, _clock) = manual("json_stats");
    let breaker = builder.build().unwrap();
    let _ = breaker.call(ok);
    let _ = breaker.call(fail);
    assert!(refuses(&breaker));

    let text = serde_json::to_string(&breaker.stats()).unwrap();
    assert_eq!(
        text,
        r#"{"calls":2,"successes":1,"failures":1,"ignored":0,"slow":0,"rejected":1,"transitions":1}"#
    );
    assert_eq!(
        serde_json::from_str::<Stats>(&text).unwrap(),
        breaker.stats()
    );
    let older: Stats = serde_json::from_str(r#"{"calls":3,"successes":3}"#).unwrap();
    assert_eq!((older.calls, older.successes, older.rejected), (3, 3, 0));
}

#[test]
fn a_transition_serializes_with_its_reason_and_open_period_and_reads_back() {
    let heard: Arc<Mutex<Vec<Transition>>> = Arc::default();
    let (builder, clock) = manual("json_transition");
    let breaker = builder
        .open_for(9 * SEC)
        .on_transition({
            let heard = heard.clone();
            move |t| heard.lock().unwrap().push(t.clone())
        })
        .build()
        .unwrap();
    let _ = breaker.call(fail);
    clock.advance(9 * SEC);

    let heard = heard.lock().unwrap().clone();
    let texts: Vec<String> = heard
        .iter()
        .map(|t| serde_json::to_string(t).unwrap())
        .collect();
    assert_eq!(
        texts,
        [
            r#"{"name":"json_transition","from":"closed","to":"open","reason":{"kind":"consecutive_failures","value":1},"open_for_ms":9000}"#,
            r#"{"name":"json_transition","from":"open","to":"half_open","reason":{"kind":"open_elapsed"},"open_for_ms":null}"#,
        ]
    );
    for (text, transition) in texts.iter().zip(&heard) {
        assert_eq!(
            &serde_json::from_str::<Transition>(text).unwrap(),
            transition
        );
    }
}

#[test]
fn reasons_and_phases_are_snake_case_objects_and_strings() {
    assert_eq!(
        serde_json::to_value(Reason::FailureRate(0.5)).unwrap(),
        json!({"kind": "failure_rate", "value": 0.5})
    );
    assert_eq!(
        serde_json::to_value(Reason::ProbesSucceeded(3)).unwrap(),
        json!({"kind": "probes_succeeded", "value": 3})
    );
    assert_eq!(
        serde_json::to_value(Reason::Forced).unwrap(),
        json!({"kind": "forced"})
    );
    assert_eq!(
        serde_json::from_value::<Reason>(json!({"kind": "slow_call_rate", "value": 0.25})).unwrap(),
        Reason::SlowCallRate(0.25)
    );
    assert_eq!(
        serde_json::to_value(Phase::HalfOpen).unwrap(),
        json!("half_open")
    );
    assert_eq!(
        serde_json::from_value::<Phase>(json!("open")).unwrap(),
        Phase::Open
    );
}

// tracing

/// The lines logged at `level` that contain `text`.
fn logged_at(level: &str, text: &str) -> Vec<String> {
    let mut lines = containing(text);
    lines.retain(|l| l.contains(&format!(" {level} ")));
    lines
}

#[test]
fn an_opening_is_logged_as_a_warning_and_probing_and_closing_as_info() {
    logs();
    let (builder, clock) = manual("traced_transitions");
    let breaker = builder
        .open_for(30 * SEC)
        .listener(observe::Tracing::new())
        .build()
        .unwrap();
    let _ = breaker.call(fail);
    clock.advance(30 * SEC);
    let _ = breaker.call(ok);

    let opened = logged_at(
        "WARN",
        "traced_transitions: closed -> open (1 failure; open for 30s)",
    );
    assert_eq!(opened.len(), 1, "{opened:#?}");
    assert!(
        opened[0].contains(r#"circuit="traced_transitions""#) && opened[0].contains("to=open"),
        "{opened:#?}"
    );
    assert_eq!(
        logged_at(
            "INFO",
            "traced_transitions: open -> half-open (the open period ended)"
        )
        .len(),
        1
    );
    assert_eq!(
        logged_at(
            "INFO",
            "traced_transitions: half-open -> closed (1 probe succeeded)"
        )
        .len(),
        1
    );
    assert!(
        logged_at("WARN", "traced_transitions").len() == 1,
        "only the opening warns"
    );
}

#[test]
fn only_the_first_refusal_after_each_opening_is_logged_at_debug() {
    logs();
    let (builder, clock) = manual("traced_refusals");
    let breaker = builder
        .open_for(SEC)
        .listener(observe::Tracing::new())
        .build()
        .unwrap();
    let _ = breaker.call(fail);
    for _ in 0..5 {
        assert!(refuses(&breaker));
    }
    clock.advance(SEC);
    let _ = breaker.call(fail); // the probe fails: open again
    for _ in 0..5 {
        assert!(refuses(&breaker));
    }

    let refusals = logged_at("DEBUG", "`traced_refusals` is open");
    assert_eq!(refusals.len(), 2, "{refusals:#?}");
    assert!(
        refusals[0].contains(r#"circuit="traced_refusals""#),
        "{refusals:#?}"
    );
}

#[test]
fn counted_failures_are_logged_at_debug_and_successes_and_ignored_errors_not_at_all() {
    logs();
    let (builder, _clock) = manual("traced_failures");
    let breaker = builder
        .trip(TripPolicy::consecutive_failures(3))
        .listener(observe::Tracing::new())
        .build()
        .unwrap();
    let _ = breaker.call(ok);
    let _ = breaker.call(fail);
    let _ = breaker.call_if(|_| false, fail);
    let _ = breaker.call(fail);

    let lines = containing("traced_failures");
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert!(
        lines
            .iter()
            .all(|l| l.contains(" DEBUG ") && l.contains("a call failed")),
        "{lines:#?}"
    );
}

// metrics

#[test]
fn calls_transitions_and_the_state_are_counted_through_the_metrics_facade() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        let (builder, clock) = manual("metered");
        let breaker = builder
            .open_for(SEC)
            .trip(TripPolicy::consecutive_failures(2))
            .listener(observe::Metrics::new())
            .build()
            .unwrap();
        let _ = breaker.call(ok);
        let _ = breaker.call(ok);
        let _ = breaker.call_if(|_| false, fail);
        let _ = breaker.call(fail);
        let _ = breaker.call(fail);
        for _ in 0..3 {
            assert!(refuses(&breaker));
        }

        let open = snapshot(&snapshotter);
        let calls = |outcome| {
            value(
                &open,
                "failfast_calls_total",
                &[("circuit", "metered"), ("outcome", outcome)],
            )
        };
        assert_eq!(calls("success"), Some(2.0));
        assert_eq!(calls("failure"), Some(2.0));
        assert_eq!(calls("ignored"), Some(1.0));
        assert_eq!(calls("rejected"), Some(3.0));
        let transitions = |to| {
            value(
                &open,
                "failfast_transitions_total",
                &[("circuit", "metered"), ("to", to)],
            )
        };
        assert_eq!(transitions("open"), Some(1.0));
        assert_eq!(
            transitions("half_open"),
            Some(0.0),
            "every series is made at once, at zero"
        );
        assert_eq!(transitions("closed"), Some(0.0));
        assert_eq!(states(&open, "metered"), OPEN);

        clock.advance(SEC);
        let half_open = snapshot(&snapshotter);
        assert_eq!(states(&half_open, "metered"), HALF_OPEN);
        assert_eq!(
            value(
                &half_open,
                "failfast_transitions_total",
                &[("circuit", "metered"), ("to", "half_open")]
            ),
            Some(1.0)
        );

        breaker.force_open(SEC);
        clock.advance(SEC);
        let _ = breaker.call(ok); // the probe closes the circuit
        let closed = snapshot(&snapshotter);
        assert_eq!(states(&closed, "metered"), CLOSED);
        let transitions = |to| {
            value(
                &closed,
                "failfast_transitions_total",
                &[("circuit", "metered"), ("to", to)],
            )
        };
        assert_eq!(
            (
                transitions("open"),
                transitions("half_open"),
                transitions("closed")
            ),
            (Some(1.0), Some(1.0), Some(1.0))
        );
        assert_eq!(
            value(
                &closed,
                "failfast_calls_total",
                &[("circuit", "metered"), ("outcome", "success")]
            ),
            Some(1.0)
        );
    });
}

#[test]
fn one_metrics_listener_of_a_registry_counts_each_circuit_under_its_own_name() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        let registry = Registry::new();
        registry.add_listener(observe::Metrics::new());
        let search = registry.get_or_create("metered_search", 60 * SEC);
        let auth = registry.get_or_create(format!("metered_{}", "auth"), 60 * SEC);
        let _ = search.call(ok);
        let _ = search.call(ok);
        let _ = auth.call(fail);
        assert!(refuses(&auth));

        let counts = snapshot(&snapshotter);
        let calls = |circuit, outcome| {
            value(
                &counts,
                "failfast_calls_total",
                &[("circuit", circuit), ("outcome", outcome)],
            )
        };
        assert_eq!(calls("metered_search", "success"), Some(2.0));
        assert_eq!(calls("metered_search", "rejected"), Some(0.0));
        assert_eq!(calls("metered_auth", "failure"), Some(1.0));
        assert_eq!(calls("metered_auth", "rejected"), Some(1.0));
        assert_eq!(states(&counts, "metered_search"), CLOSED);
        assert_eq!(states(&counts, "metered_auth"), OPEN);
    });
}

#[test]
fn a_breaker_shows_its_circuit_in_its_series_from_the_moment_it_is_made() {
    let store = MemoryStore::new();
    let first = Breaker::builder("metered_shared")
        .store(store.clone())
        .open_for(60 * SEC)
        .build()
        .unwrap();
    let _ = first.call(fail);
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    // Looked at while the breakers live: a circuit whose last breaker is gone shows no state.
    let made = metrics::with_local_recorder(&recorder, || {
        let _idle = manual("metered_idle")
            .0
            .listener(observe::Metrics::new())
            .build()
            .unwrap();
        let _joined = Breaker::builder("metered_shared")
            .store(store)
            .listener(observe::Metrics::new())
            .build()
            .unwrap();
        snapshot(&snapshotter)
    });
    assert_eq!(
        states(&made, "metered_idle"),
        CLOSED,
        "closed, before any call"
    );
    assert_eq!(
        states(&made, "metered_shared"),
        OPEN,
        "joined the circuit another breaker opened"
    );
    let successes = value(
        &made,
        "failfast_calls_total",
        &[("circuit", "metered_idle"), ("outcome", "success")],
    );
    assert_eq!(successes, Some(0.0));
}

#[test]
fn the_metrics_are_described_with_their_units() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        let (builder, _clock) = manual("described");
        let breaker = builder.listener(observe::Metrics::new()).build().unwrap();
        let _ = breaker.call(ok);
    });
    let described: Vec<(String, Option<metrics::Unit>, bool)> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, unit, description, _)| {
            (key.key().name().to_owned(), unit, description.is_some())
        })
        .collect();
    assert!(described.contains(&(
        "failfast_calls_total".to_owned(),
        Some(metrics::Unit::Count),
        true
    )));
    assert!(described.contains(&(
        "failfast_transitions_total".to_owned(),
        Some(metrics::Unit::Count),
        true
    )));
    assert!(described.contains(&("failfast_state".to_owned(), None, true)));
}
