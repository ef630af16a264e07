//! The visits app under load: Redis healthy, paused, resumed; with failfast and without.
//!
//! `cargo run --release -p loadtest`
//!
//! goose (the Rust Locust) runs 32 users against the app on 127.0.0.1, each sending its next
//! request as soon as the last is answered, for three phases of 10 s: Redis healthy, Redis
//! paused (`SIGSTOP`), Redis resumed. It does this twice, each time with a fresh Redis and app:
//! once without the breaker, once with it. It prints requests per second and p50/p99/max latency
//! per phase, from HDR histograms, and draws them per second into a PNG.
//!
//! - `USERS`: simulated users (default 32).
//! - `PHASE_SECS`: the length of each phase (default 10).
//! - `CHART`: where to write the PNG (default `target/visits-load.png` in the workspace;
//!   `CHART=docs/visits-load.png` refreshes the README's).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use loadtest::{LoadConfig, PHASES, Run};

#[tokio::main]
async fn main() -> ExitCode {
    // On SIGTERM or SIGHUP the run is dropped, and with it the runtime's tasks and their redis-servers.
    // (goose handles Ctrl-C itself: it ends the run early, which `run` reports.)
    let result = tokio::select! {
        result = load_test() => result,
        _ = terminated() => Err("terminated".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("loadtest: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(unix)]
async fn terminated() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) {
        (Ok(mut terminate), Ok(mut hangup)) => {
            tokio::select! {
                _ = terminate.recv() => {}
                _ = hangup.recv() => {}
            }
        }
        _ => std::future::pending().await,
    }
}

#[cfg(not(unix))]
async fn terminated() {
    std::future::pending().await
}

fn env_number(name: &str, default: u64) -> Result<u64, String> {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("{name} must be a whole number above 0, not {v:?}")),
        Err(_) => Ok(default),
    }
}

async fn load_test() -> Result<(), Box<dyn std::error::Error>> {
    let config = LoadConfig {
        users: env_number("USERS", 32)? as usize,
        phase: Duration::from_secs(env_number("PHASE_SECS", 10)?),
        ..LoadConfig::default()
    };
    let chart = std::env::var("CHART").map_or_else(
        |_| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../target/visits-load.png"
            ))
        },
        PathBuf::from,
    );
    println!(
        "{} users; phases of {:?}; Redis timeout {:?}; open period {:?}",
        config.users, config.phase, config.redis_timeout, config.open_for
    );
    let mut runs = Vec::new();
    for breaker in [false, true] {
        println!(
            "running {} ...",
            if breaker {
                "with failfast"
            } else {
                "without a breaker"
            }
        );
        runs.push(loadtest::run(&config, breaker).await?);
    }
    print_table(&runs);
    if let Some(dir) = chart.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    loadtest::draw(&chart, &runs)?;
    println!("chart: {}", chart.display());
    Ok(())
}

/// Milliseconds, to two decimals.
fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn print_table(runs: &[Run]) {
    println!();
    println!(
        "| breaker | phase   | requests/s | p50       | p99       | max       | fresh   | stale   | 503 | errors |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for run in runs {
        for (phase, s) in PHASES.iter().zip(&run.phases) {
            println!(
                "| {:<7} | {phase:<7} | {:>10.0} | {:>9} | {:>9} | {:>9} | {:>7} | {:>7} | {:>3} | {:>6} |",
                if run.breaker { "on" } else { "off" },
                s.throughput,
                ms(s.p50),
                ms(s.p99),
                ms(s.max),
                s.answers[0],
                s.answers[1],
                s.answers[2],
                s.answers[3],
            );
        }
    }
    println!();
    for run in runs {
        let [healthy, paused, _] = &run.phases;
        println!(
            "breaker {}: paused p99 {}, paused throughput {:.0}% of healthy; counting again {} after the resume",
            if run.breaker { "on " } else { "off" },
            ms(paused.p99),
            100.0 * paused.throughput / healthy.throughput.max(f64::MIN_POSITIVE),
            run.healed_after.map_or("never".to_owned(), ms),
        );
    }
}
