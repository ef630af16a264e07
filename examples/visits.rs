//! The flagship: a web page whose visit counter lives in Redis, protected by failfast.
//!
//! `cargo run -p examples --example visits`, then `curl localhost:3000`. Pause Redis with the
//! `kill -STOP` line the app prints: the first request waits for the 100 ms Redis timeout and
//! opens the circuit; the following ones answer at once with the last count, marked stale. Resume
//! it with `kill -CONT`: after the 5 s open period one probe finds Redis back and counting goes
//! on. The app is in `src/visits/`; this file only reads the environment.
//!
//! - `REDIS_URL`: the Redis to use. Unset, the app starts a `redis-server` of its own on a free
//!   port in a temporary directory, and stops it on exit.
//! - `PORT`: where to listen on 127.0.0.1 (default 3000; 0 picks a free port).
//! - `BREAKER=off`: the same app without the breaker, to see what it saves.
//! - `RUST_LOG`: the log filter (default `info`).

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use examples::local_redis::LocalRedis;
use examples::visits::{self, Config};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    // Logs go to stderr, so that stdout says only where things are.
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("visits: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let port = match std::env::var("PORT") {
        Ok(port) => port
            .parse::<u16>()
            .map_err(|_| format!("PORT must be a port number (0 to 65535), not {port:?}"))?,
        Err(_) => 3000,
    };
    let breaker = match std::env::var("BREAKER").as_deref() {
        Ok("off") => false,
        Ok("on") | Err(_) => true,
        Ok(other) => return Err(format!("BREAKER must be on or off, not {other:?}").into()),
    };
    // Kept alive until the app stops; dropping it stops the server.
    let mut local_redis = None;
    let redis_url = match std::env::var("REDIS_URL") {
        Ok(url) => url,
        Err(_) => {
            let redis = LocalRedis::start()?;
            println!("redis-server (pid {}) on {}", redis.pid(), redis.url());
            println!(
                "  pause it: kill -STOP {pid}    resume it: kill -CONT {pid}",
                pid = redis.pid()
            );
            local_redis.insert(redis).url()
        }
    };
    let mut config = Config::new(redis_url);
    config.addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    config.breaker = breaker;
    let app = visits::start(config).await?;
    println!("visits: listening on http://{}/", app.addr());
    println!("  also /metrics (Prometheus) and /health (JSON); Ctrl-C stops");
    shutdown_signal().await;
    println!("visits: stopping (again to stop at once)");
    tokio::select! {
        _ = app.stop() => {}
        _ = shutdown_signal() => println!("visits: stopping at once"),
    }
    drop(local_redis);
    Ok(())
}

/// Ctrl-C, or SIGTERM (what `kill` and container runtimes send).
async fn shutdown_signal() {
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
}
