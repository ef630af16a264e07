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
    // Listening from the start, so that a signal during start-up does not kill the program
    // before it can stop its redis-server.
    let mut signals = Signals::new()?;
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
    let app = tokio::select! {
        app = visits::start(config) => app?,
        _ = signals.next() => return Ok(()),
    };
    println!("visits: listening on http://{}/", app.addr());
    println!("  also /metrics (Prometheus) and /health (JSON); Ctrl-C stops");
    signals.next().await;
    println!("visits: stopping (again to stop at once)");
    tokio::select! {
        _ = app.stop() => {}
        _ = signals.next() => println!("visits: stopping at once"),
    }
    drop(local_redis);
    Ok(())
}

/// The signals that stop the program: Ctrl-C, SIGTERM (what `kill` and container runtimes
/// send), SIGHUP (the terminal closed) and SIGQUIT.
struct Signals {
    #[cfg(unix)]
    streams: [tokio::signal::unix::Signal; 4],
}

impl Signals {
    #[cfg(unix)]
    fn new() -> std::io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        let streams = [
            signal(SignalKind::interrupt())?,
            signal(SignalKind::terminate())?,
            signal(SignalKind::hangup())?,
            signal(SignalKind::quit())?,
        ];
        Ok(Signals { streams })
    }

    /// Waits for the next one.
    #[cfg(unix)]
    async fn next(&mut self) {
        let [interrupt, terminate, hangup, quit] = &mut self.streams;
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
            _ = hangup.recv() => {}
            _ = quit.recv() => {}
        }
    }

    #[cfg(not(unix))]
    fn new() -> std::io::Result<Signals> {
        Ok(Signals {})
    }

    #[cfg(not(unix))]
    async fn next(&mut self) {
        let _ = tokio::signal::ctrl_c().await;
    }
}
