//! How fast a change of a circuit on a `RedisStore` reaches another process: two real OS
//! processes, on one `redis-server` of the benchmark's own, on loopback.
//!
//! `cargo bench -p benches --bench propagation`
//!
//! The benchmark (process A) starts a `redis-server`, then runs itself again as process B,
//! which makes breakers on the same circuits with a store of its own. Both wait until their
//! stores are connected and have read the circuits, so no start-up is measured. Then, for each
//! trial:
//! - A trips the circuit `propagation-ab` (a failing call), and measures the time until B's
//!   listener (`on_transition`, hearing `Reason::Remote`) has written a line saying so, and A
//!   has read it from B's standard output; then A resets the circuit and measures the same
//!   for the close.
//! - The reverse: A tells B on its standard input to trip (then to reset) the circuit
//!   `propagation-ba`, and measures the time until A's own listener hears it.
//!
//! So each figure includes one hop through a pipe between the two processes, besides the
//! store's work (A's store pushes the change to Redis, which publishes it; B's store hears it
//! and changes B's circuit; B's `failfast-events` thread runs the listener). The round trip
//! through both pipes is measured too, for scale. The first 20 trials of each kind warm
//! up and are not counted.
//!
//! Each change comes after a pause of 0 to 2 ms, so that it finds the threads of both
//! processes asleep, as a real trip does, and falls at any point of the stores' periodic
//! work. `FAILFAST_PROPAGATION_TRIALS` sets the number of trials of each direction (default
//! 2000); the trials of one direction stop after 30 s in any case.
//! If `redis-server` is missing, the benchmark says so in one line and measures nothing.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use failfast::{Breaker, Phase, Reason, RedisStore, Transition};
use hdrhistogram::Histogram;
use tests::redis_server::RedisServer;

/// Whether `redis-server` can be run here. (The test helper says more lines than one.)
fn redis_installed() -> bool {
    std::process::Command::new("redis-server")
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Set in process B: the URL of the Redis to use.
const PEER_ENV: &str = "FAILFAST_PROPAGATION_PEER";
/// The number of trials of each direction.
const TRIALS_ENV: &str = "FAILFAST_PROPAGATION_TRIALS";
const TRIALS: usize = 2000;
/// Trials made before measuring, and not counted.
const WARM_UP: usize = 20;
/// The most time the trials of one direction may take.
const BUDGET: Duration = Duration::from_secs(30);
/// The longest pause before each change, so that changes find the processes' threads idle,
/// as a real trip does, and fall at every point of the stores' periodic work.
const MAX_PAUSE_US: usize = 2000;
/// How long a change may take to arrive before it counts as lost.
const LOST_AFTER: Duration = Duration::from_secs(2);
/// How long the processes may take to start and connect.
const START_LIMIT: Duration = Duration::from_secs(30);

/// Tripped by A, heard by B.
const AB: &str = "propagation-ab";
/// Tripped by B, heard by A.
const BA: &str = "propagation-ba";
const HOUR: Duration = Duration::from_secs(3600);

fn fail() -> Result<(), ()> {
    Err(())
}

fn main() {
    match std::env::var(PEER_ENV) {
        Ok(url) => peer(&url),
        Err(_) => lead(),
    }
}

fn breaker(
    name: &'static str,
    store: &RedisStore,
    listener: impl Fn(&Transition) + Send + Sync + 'static,
) -> Breaker {
    Breaker::builder(name)
        .store(store.clone())
        .open_for(HOUR)
        .on_transition(listener)
        .build()
        .expect("a valid breaker")
}

/// A connected store on the Redis at `url`.
fn connected(url: &str) -> RedisStore {
    let store = RedisStore::new(url).expect("a valid URL");
    let start = Instant::now();
    while !store.is_connected() {
        assert!(start.elapsed() < START_LIMIT, "{store:?} does not connect");
        std::thread::sleep(Duration::from_millis(1));
    }
    store
}

/// Process B: follows `AB` and reports what it hears on standard output, line by line, flushed
/// at once; trips and resets `BA` when told to on standard input. Ends with its input.
fn peer(url: &str) {
    let store = connected(url);
    let say = |line: &str| {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}")
            .and_then(|()| out.flush())
            .expect("A reads B's output");
    };
    let ab = breaker(AB, &store, move |t| {
        if t.reason == Reason::Remote {
            say(&format!("{} {:?}", t.name, t.to));
        }
    });
    let ba = breaker(BA, &store, |_| {});
    // The store reads each new circuit's record at once; leave it time to.
    std::thread::sleep(Duration::from_millis(200));
    say("ready");
    for line in std::io::stdin().lock().lines() {
        match line.as_deref() {
            Ok("trip") => {
                let _ = ba.call(fail);
            }
            Ok("reset") => ba.reset(),
            Ok("ping") => say("pong"),
            _ => break,
        }
    }
    drop((ab, ba));
}

/// Process B, seen from A: killed when dropped, even while A unwinds from a panic.
struct Peer {
    child: Child,
    input: ChildStdin,
    /// B's output lines, each with the time A read it.
    lines: Receiver<(Instant, String)>,
}

impl Peer {
    fn spawn(url: &str) -> Peer {
        let exe = std::env::current_exe().expect("the benchmark's own path");
        let mut child = Command::new(exe)
            .env(PEER_ENV, url)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("process B starts");
        let input = child.stdin.take().expect("B's input");
        let output = child.stdout.take().expect("B's output");
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(output).lines() {
                let Ok(line) = line else { break };
                if tx.send((Instant::now(), line)).is_err() {
                    break;
                }
            }
        });
        Peer {
            child,
            input,
            lines,
        }
    }

    fn tell(&mut self, command: &str) {
        writeln!(self.input, "{command}").expect("B reads its input");
    }

    /// When A read the line `want` from B, skipping others; `None` if it did not come within
    /// `limit`.
    fn heard(&self, want: &str, limit: Duration) -> Option<Instant> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok((at, line)) if line == want => return Some(at),
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => return None,
                Err(RecvTimeoutError::Disconnected) => panic!("process B ended"),
            }
        }
    }

    /// Forgets what B said so far.
    fn drain(&self) {
        while self.lines.try_recv().is_ok() {}
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The times of one kind of change, in nanoseconds, and how many never arrived.
struct Times {
    label: &'static str,
    histogram: Histogram<u64>,
    lost: u64,
}

impl Times {
    fn new(label: &'static str) -> Times {
        Times {
            label,
            histogram: Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid bounds"),
            lost: 0,
        }
    }

    fn record(&mut self, took: Option<Duration>, counted: bool) {
        if !counted {
            return;
        }
        match took {
            Some(took) => self
                .histogram
                .saturating_record(u64::try_from(took.as_nanos()).unwrap_or(u64::MAX)),
            None => self.lost += 1,
        }
    }

    fn row(&self) -> String {
        let h = &self.histogram;
        let us = |ns: u64| format!("{:.0}", ns as f64 / 1000.0);
        format!(
            "| {:<40} | {:>6} | {:>6} | {:>6} | {:>6} | {:>7} | {:>4} |",
            self.label,
            h.len(),
            us(h.value_at_quantile(0.5)),
            us(h.value_at_quantile(0.9)),
            us(h.value_at_quantile(0.99)),
            us(h.max()),
            self.lost,
        )
    }
}

/// How many connections `server` has accepted so far, counting the one that asks.
fn connections_received(server: &RedisServer) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("stats")
        .query(&mut server.connection())
        .expect("redis-server answers INFO");
    info.lines()
        .find_map(|line| line.strip_prefix("total_connections_received:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("INFO stats counts connections")
}

/// A pause before the `i`th change, spread evenly over 0 to [`MAX_PAUSE_US`].
fn pause(i: usize) {
    std::thread::sleep(Duration::from_micros((i * 7919 % MAX_PAUSE_US) as u64));
}

/// Process A.
fn lead() {
    let Some(server) = redis_installed().then(RedisServer::start).flatten() else {
        println!("redis-server is not installed: the propagation benchmark is skipped");
        return;
    };
    let url = server.url();
    let trials = std::env::var(TRIALS_ENV)
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(TRIALS);
    // Declared after the server, so B is killed before the server stops, panic or not.
    let mut peer = Peer::spawn(&url);
    let store = connected(&url);
    let (tx, heard_here) = channel::<(Instant, Phase)>();
    let ab = breaker(AB, &store, |_| {});
    let ba = breaker(BA, &store, move |t| {
        if t.reason == Reason::Remote {
            let _ = tx.send((Instant::now(), t.to));
        }
    });
    assert!(
        peer.heard("ready", START_LIMIT).is_some(),
        "process B did not get ready"
    );
    std::thread::sleep(Duration::from_millis(200));
    assert!(store.is_connected(), "A's store is connected");
    let here = |phase: Phase| -> Option<Instant> {
        let deadline = Instant::now() + LOST_AFTER;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match heard_here.recv_timeout(left) {
                Ok((at, p)) if p == phase => return Some(at),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    };
    let after = |start: Instant, at: Option<Instant>| at.map(|at| at - start);
    // After a change went missing, the stores' periodic re-read brings both to the record.
    let settle = |peer: &Peer| {
        std::thread::sleep(Duration::from_millis(1500));
        peer.drain();
        while heard_here.try_recv().is_ok() {}
    };

    let connections_before = connections_received(&server);
    let mut pipe = Times::new("pipe round trip A -> B -> A (for scale)");
    let mut ab_open = Times::new("A trips, B hears it open");
    let mut ab_close = Times::new("A resets, B hears it closed");
    let mut ba_open = Times::new("B trips, A hears it open");
    let mut ba_close = Times::new("B resets, A hears it closed");

    let started = Instant::now();
    for i in 0..WARM_UP + trials {
        let counted = i >= WARM_UP;
        pause(i);
        let start = Instant::now();
        peer.tell("ping");
        pipe.record(after(start, peer.heard("pong", LOST_AFTER)), counted);
    }

    let phase_started = Instant::now();
    for i in 0..WARM_UP + trials {
        if phase_started.elapsed() > BUDGET {
            break;
        }
        let counted = i >= WARM_UP;
        pause(2 * i);
        let start = Instant::now();
        let _ = ab.call(fail);
        let open = after(start, peer.heard(&format!("{AB} Open"), LOST_AFTER));
        ab_open.record(open, counted);
        pause(2 * i + 1);
        let start = Instant::now();
        ab.reset();
        let closed = after(start, peer.heard(&format!("{AB} Closed"), LOST_AFTER));
        ab_close.record(closed, counted);
        if open.is_none() || closed.is_none() {
            settle(&peer);
        }
    }

    let phase_started = Instant::now();
    for i in 0..WARM_UP + trials {
        if phase_started.elapsed() > BUDGET {
            break;
        }
        let counted = i >= WARM_UP;
        pause(2 * i);
        let start = Instant::now();
        peer.tell("trip");
        let open = after(start, here(Phase::Open));
        ba_open.record(open, counted);
        pause(2 * i + 1);
        let start = Instant::now();
        peer.tell("reset");
        let closed = after(start, here(Phase::Closed));
        ba_close.record(closed, counted);
        if open.is_none() || closed.is_none() {
            settle(&peer);
        }
    }
    let took = started.elapsed();
    assert!(store.is_connected(), "A's store stayed connected");
    // A store that lost its connection (an answer later than its timeout) made a new one.
    let reconnections = connections_received(&server) - connections_before - 1;

    println!();
    println!(
        "Propagation between two processes on loopback, {trials} trials of each after {WARM_UP} \
         not counted ({:.1} s in all); microseconds:",
        took.as_secs_f64()
    );
    println!();
    println!(
        "| {:<40} | {:>6} | {:>6} | {:>6} | {:>6} | {:>7} | {:>4} |",
        "change", "trials", "p50", "p90", "p99", "max", "lost"
    );
    println!(
        "|{}|--------|--------|--------|--------|---------|------|",
        "-".repeat(42)
    );
    for times in [&ab_open, &ab_close, &ba_open, &ba_close, &pipe] {
        println!("{}", times.row());
    }
    println!();
    println!(
        "Each change's time includes one hop through a pipe between the processes (about half \
         the round trip). The stores connected again {reconnections} times during the trials."
    );

    drop((ab, ba, store));
    drop(peer);
    drop(server);
}
