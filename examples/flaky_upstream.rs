//! A flaky upstream, scenario by scenario.
//!
//! A mock HTTP upstream misbehaves in the five ways of the classic Tenacity walkthrough: random
//! 500s, answers slower than the client's 150 ms timeout, 404, 429 rate limiting with
//! `Retry-After`, and 204 empty. A client calls each route through a circuit of its own and
//! prints, call by call, what the breaker did (success, counted failure, ignored, refused) and
//! how the circuit moved; then, per scenario, the counts and why. The upstream counts the
//! requests that reach it: refused calls never do. The app is in `src/flaky_upstream/`.
//!
//! `cargo run -p examples --example flaky_upstream` (about three seconds, nothing to set up).

use std::process::ExitCode;

use examples::flaky_upstream::{self, Config};

#[tokio::main]
async fn main() -> ExitCode {
    println!("A mock upstream on 127.0.0.1; each route is called through a circuit of its own.");
    match flaky_upstream::run(Config::default(), |progress| println!("{progress}")).await {
        Ok(reports) => {
            print!("\n{}", flaky_upstream::summary(&reports));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("flaky_upstream: {e}");
            ExitCode::FAILURE
        }
    }
}
