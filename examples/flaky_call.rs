//! A flaky dependency, protected.
//!
//! An inventory service answers quickly, then goes down: every call now hangs until its 150 ms
//! timeout. Unprotected, each request would wait that long. With a breaker, three failures in a
//! row open the circuit, and the requests after them get a fallback answer at once. A second
//! later one probe call checks on the service; once it is back, the circuit closes by itself.
//!
//! `cargo run -p examples --example flaky_call`

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

use failfast::{Breaker, Error, TripPolicy};

/// The dependency: healthy or down, switched by the story.
static SERVICE_UP: AtomicBool = AtomicBool::new(true);

#[derive(Debug)]
struct Timeout;

impl std::fmt::Display for Timeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("timed out after 150 ms")
    }
}

/// Asks the inventory service how many widgets are in stock.
fn widgets_in_stock() -> Result<u32, Timeout> {
    if SERVICE_UP.load(Ordering::Relaxed) {
        sleep(Duration::from_millis(5));
        Ok(42)
    } else {
        sleep(Duration::from_millis(150));
        Err(Timeout)
    }
}

fn main() -> Result<(), failfast::ConfigError> {
    let breaker = Breaker::builder("inventory")
        .trip(TripPolicy::consecutive_failures(3))
        .open_for(Duration::from_secs(1))
        .on_transition(|t| {
            println!(
                "    circuit {}: {:?} -> {:?} ({:?})",
                t.name, t.from, t.to, t.reason
            )
        })
        .build()?;

    let request = |n: u32| {
        let started = Instant::now();
        let answer = match breaker.call(widgets_in_stock) {
            Ok(stock) => format!("{stock} in stock"),
            Err(Error::Inner(e)) => format!("error: {e}"),
            Err(Error::Open(open)) => format!("fallback: stock unknown ({open})"),
        };
        println!("request {n:>2}: {:>9.3?}  {answer}", started.elapsed());
    };

    println!("The inventory service is up.");
    for n in 1..=2 {
        request(n);
    }
    println!("The inventory service goes down.");
    SERVICE_UP.store(false, Ordering::Relaxed);
    for n in 3..=8 {
        request(n);
    }
    println!("A second passes; the service is still down, so the probe fails.");
    sleep(Duration::from_millis(1050));
    for n in 9..=10 {
        request(n);
    }
    println!("The service comes back; a second later the next probe succeeds.");
    SERVICE_UP.store(true, Ordering::Relaxed);
    sleep(Duration::from_millis(1050));
    for n in 11..=13 {
        request(n);
    }

    let stats = breaker.stats();
    println!(
        "\n{} calls ran ({} succeeded, {} failed); {} were answered by the fallback without waiting.",
        stats.calls, stats.successes, stats.failures, stats.rejected
    );
    Ok(())
}
