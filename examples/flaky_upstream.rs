//! A flaky upstream, scenario by scenario, without retries and then with them.
//!
//! A mock HTTP upstream misbehaves in the five ways of the classic Tenacity walkthrough: random
//! 500s, answers slower than the client's 150 ms timeout, 404, 429 rate limiting with
//! `Retry-After`, and 204 empty. A client calls each route through a circuit of its own and
//! prints, call by call, what the breaker did (success, counted failure, ignored, refused) and
//! how the circuit moved; then, per scenario, the counts and why. The upstream counts the
//! requests that reach it: refused calls never do.
//!
//! Then the same scenarios with every call retried (three attempts, exponential waits,
//! `Retry-After` honoured, 204 retried): each retried call lists its attempts, and the last
//! table shows where retries got more answers and where the circuit stopped them. The app is in
//! `src/flaky_upstream/`.
//!
//! `cargo run -p examples --example flaky_upstream` (about seven seconds, nothing to set up).

use std::process::ExitCode;

use examples::flaky_upstream::{self, Config};

#[tokio::main]
async fn main() -> ExitCode {
    println!("A mock upstream on 127.0.0.1; each route is called through a circuit of its own.");
    let without =
        match flaky_upstream::run(Config::default(), |progress| println!("{progress}")).await {
            Ok(reports) => reports,
            Err(e) => return failed(e),
        };
    println!(
        "\n\nThe same scenarios, each call retried: 3 attempts, waiting 50 ms then 100 ms; a 429 \
         after its Retry-After; an empty 204 retried too; a 404 never."
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
