//! A flaky upstream, scenario by scenario, without retries and then with them.
//!
//! A mock HTTP upstream misbehaves in the five ways of the classic Tenacity walkthrough: random
//! 500s, answers slower than the client's 150 ms timeout, 404, 429 rate limiting with
//! `Retry-After`, and 204 empty. A client calls each route through one `#[failfast]` function,
//! with a circuit per route, and prints that function first; then, call by call, what the
//! breaker did (success, counted failure, ignored, refused), each call followed by what it did
//! to the circuit; then, per scenario, the counts and why. The upstream counts the requests
//! that reach it: refused calls never do.
//!
//! Then the same scenarios with every call retried (three attempts, exponential waits,
//! `Retry-After` honoured, 204 retried) through its circuit, by a `failfast::retry::Retry`: the
//! attribute's `retry` option retries errors only, and does not read `Retry-After`. Each retried
//! call lists its attempts, and the last table shows where retries got more answers and where
//! the circuit stopped them. The app is in `src/flaky_upstream/`.
//!
//! `cargo run -p examples --example flaky_upstream` (about seven seconds, nothing to set up).

use std::process::ExitCode;

use examples::flaky_upstream::{self, Config};

#[tokio::main]
async fn main() -> ExitCode {
    println!("{}", flaky_upstream::introduction());
    let without =
        match flaky_upstream::run(Config::default(), |progress| println!("{progress}")).await {
            Ok(reports) => reports,
            Err(e) => return failed(e),
        };
    println!(
        "\n\nThe same scenarios, each call retried through its circuit by a failfast::retry::Retry \
         (Client::get_retrying): 3 attempts, waiting 50 ms then 100 ms; a 429 after its \
         Retry-After; an empty 204 retried too; a 404 never."
    );
    let retrying = match Config::retrying() {
        Ok(config) => config,
        Err(e) => return failed(e),
    };
    let with = match flaky_upstream::run(retrying, |progress| println!("{progress}")).await {
        Ok(reports) => reports,
        Err(e) => return failed(e),
    };
    print!("\nWithout retries:\n{}", flaky_upstream::summary(&without));
    print!("\nWith retries:\n{}", flaky_upstream::summary(&with));
    ExitCode::SUCCESS
}

fn failed(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("flaky_upstream: {e}");
    ExitCode::FAILURE
}
