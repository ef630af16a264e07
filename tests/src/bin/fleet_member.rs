//! One member of a fleet of processes sharing circuits through a [`RedisStore`], driven by the
//! `redis_fleet` tests.
//!
//! Usage: `fleet_member <redis-url> [<store-timeout-ms>]`. The member makes its store, waits up
//! to 5 s for it to connect, and says `ready connected=<bool>`. Then it reads one command per
//! line on stdin and answers each with one line on stdout. Answers are words and `key=value`
//! fields; a state is one word: `closed`, `half-open` or `open:<ms left>`; times called `at`
//! or `starts` are wall-clock microseconds since the Unix epoch, which every process on the
//! host (and Redis's `TIME`) reads alike.
//!
//! | command                                        | answer                                         |
//! |------------------------------------------------|------------------------------------------------|
//! | `make <name> <open_for_ms> <probes> <probe_timeout_ms>` | `made`: the breaker every later command uses |
//! | `call ok\|fail`                                | `ran state=..` or `refused state=..`           |
//! | `state`                                        | `state=.. connected=<bool>`                    |
//! | `wait closed\|open\|half-open <deadline_ms>`   | `reached waited_ms=.. since_made_ms=.. state=..` or `timeout state=..` |
//! | `reset`, `force_open <ms>`                     | `done state=..`                                |
//! | `probe ok\|fail <deadline_ms>`                 | calls until one runs: `ran at=.. state=..` or `timeout state=..` |
//! | `hammer <ms> ok\|fail <latency_ms>`            | calls for `<ms>` against a backend taking `<latency_ms>`: `hammered ran=.. refused=.. began=<state> connected=<bool, all along> starts=<at,..>` |
//! | `hold <deadline_ms>`                           | calls until one runs, and that call answers `holding at=..` and never returns (the member exits after a minute, if it is still alive) |
//!
//! A malformed command is answered with `error <why>`; end of input ends the member.

use std::io::{BufRead, Write};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use failfast::{Breaker, RedisStore, State};

/// How long the member waits for its store to connect at start.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a held probe lasts, at most: the member then exits, in case no one killed it.
const HOLD_AT_MOST: Duration = Duration::from_secs(60);
/// The pause between two calls that were refused, so that hammering members leave the CPU to
/// the others.
const PAUSE: Duration = Duration::from_millis(1);

fn main() {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .expect("usage: fleet_member <redis-url> [<store-timeout-ms>]");
    let mut builder = RedisStore::builder(&url);
    if let Some(ms) = args.next() {
        builder = builder.timeout(Duration::from_millis(ms.parse().expect("a timeout in ms")));
    }
    let store = builder.build().expect("a store");
    let start = Instant::now();
    while !store.is_connected() && start.elapsed() < CONNECT_TIMEOUT {
        std::thread::sleep(PAUSE);
    }
    let mut member = Member {
        store,
        breaker: None,
    };
    answer(&format!("ready connected={}", member.store.is_connected()));
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let words: Vec<&str> = line.split_whitespace().collect();
        let reply = member
            .command(&words)
            .unwrap_or_else(|why| format!("error {why}: {line}"));
        answer(&reply);
    }
}

/// Writes one answer line and flushes it.
fn answer(line: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").expect("stdout");
    out.flush().expect("stdout");
}

/// The member's store, and the breaker it made, with when it was made.
struct Member {
    store: RedisStore,
    breaker: Option<(Breaker, Instant)>,
}

impl Member {
    /// Runs one command; returns its answer, or why it is malformed.
    fn command(&mut self, words: &[&str]) -> Result<String, String> {
        if let ["make", name, open_for, probes, probe_timeout] = words {
            let breaker = Breaker::builder(name.to_string())
                .store(self.store.clone())
                .open_for(millis(open_for)?)
                .probes(number(probes)?)
                .probe_timeout(millis(probe_timeout)?)
                .build()
                .map_err(|e| e.to_string())?;
            self.breaker = Some((breaker, Instant::now()));
            return Ok("made".into());
        }
        let Some((breaker, made)) = &self.breaker else {
            return Err("no breaker yet: `make` one".into());
        };
        let reply = match words {
            ["call", outcome] => {
                let ran = !refused(&breaker.call(backend(outcome, 0)?));
                let word = if ran { "ran" } else { "refused" };
                format!("{word} state={}", state(breaker))
            }
            ["state"] => format!(
                "state={} connected={}",
                state(breaker),
                self.store.is_connected()
            ),
            ["wait", phase, deadline] => {
                let deadline = millis(deadline)?;
                let start = Instant::now();
                let reached = || match *phase {
                    "closed" => Ok(breaker.state().is_closed()),
                    "open" => Ok(breaker.state().is_open()),
                    "half-open" => Ok(breaker.state().is_half_open()),
                    other => Err(format!("no phase {other}")),
                };
                loop {
                    if reached()? {
                        break format!(
                            "reached waited_ms={} since_made_ms={} state={}",
                            start.elapsed().as_millis(),
                            made.elapsed().as_millis(),
                            state(breaker)
                        );
                    }
                    if start.elapsed() > deadline {
                        break format!("timeout state={}", state(breaker));
                    }
                    std::thread::sleep(PAUSE);
                }
            }
            ["reset"] => {
                breaker.reset();
                format!("done state={}", state(breaker))
            }
            ["force_open", duration] => {
                breaker.force_open(millis(duration)?);
                format!("done state={}", state(breaker))
            }
            ["probe", outcome, deadline] => {
                let (deadline, call) = (millis(deadline)?, backend(outcome, 0)?);
                let start = Instant::now();
                loop {
                    let at = now_us();
                    if !refused(&breaker.call(call)) {
                        break format!("ran at={at} state={}", state(breaker));
                    }
                    if start.elapsed() > deadline {
                        break format!("timeout state={}", state(breaker));
                    }
                    std::thread::sleep(PAUSE);
                }
            }
            ["hammer", duration, outcome, latency] => {
                hammer(breaker, &self.store, millis(duration)?, outcome, latency)?
            }
            ["hold", deadline] => {
                let deadline = millis(deadline)?;
                let start = Instant::now();
                loop {
                    let held = breaker.call(|| -> Result<(), ()> {
                        answer(&format!("holding at={}", now_us()));
                        // Killed by the test long before this; exits if its test died first.
                        std::thread::sleep(HOLD_AT_MOST);
                        std::process::exit(3)
                    });
                    if start.elapsed() > deadline {
                        break format!("timeout state={}", state(breaker));
                    }
                    debug_assert!(refused(&held));
                    std::thread::sleep(PAUSE);
                }
            }
            _ => return Err("unknown command".into()),
        };
        Ok(reply)
    }
}

/// Calls through `breaker` for `duration`, against a backend that answers `outcome` after
/// `latency` ms; says how many calls ran, when each started, and how many were refused.
fn hammer(
    breaker: &Breaker,
    store: &RedisStore,
    duration: Duration,
    outcome: &str,
    latency: &str,
) -> Result<String, String> {
    let call = backend(outcome, number(latency)?)?;
    let began = state(breaker);
    let start = Instant::now();
    let (mut starts, mut refusals, mut connected) = (Vec::new(), 0u64, true);
    while start.elapsed() < duration {
        connected &= store.is_connected();
        let at = now_us();
        let mut ran = false;
        let _ = breaker.call(|| {
            ran = true;
            call()
        });
        if ran {
            starts.push(at.to_string());
        } else {
            refusals += 1;
            std::thread::sleep(PAUSE);
        }
    }
    Ok(format!(
        "hammered ran={} refused={refusals} began={began} connected={connected} starts={}",
        starts.len(),
        starts.join(",")
    ))
}

/// A backend call that answers `outcome` (`ok` or `fail`) after `latency` ms.
fn backend(outcome: &str, latency: u64) -> Result<impl Fn() -> Result<(), ()> + Copy, String> {
    let ok = match outcome {
        "ok" => true,
        "fail" => false,
        other => return Err(format!("no outcome {other}")),
    };
    Ok(move || {
        std::thread::sleep(Duration::from_millis(latency));
        if ok { Ok(()) } else { Err(()) }
    })
}

/// Whether a call was refused without running.
fn refused<T, E>(result: &Result<T, failfast::Error<E>>) -> bool {
    matches!(result, Err(e) if e.is_open())
}

/// The breaker's state, in one word.
fn state(breaker: &Breaker) -> String {
    match breaker.state() {
        State::Closed => "closed".into(),
        State::HalfOpen => "half-open".into(),
        State::Open { retry_in } => format!("open:{}", retry_in.as_millis()),
    }
}

fn number<T: std::str::FromStr>(word: &str) -> Result<T, String> {
    word.parse().map_err(|_| format!("not a number: {word}"))
}

fn millis(word: &str) -> Result<Duration, String> {
    number(word).map(Duration::from_millis)
}

/// Wall-clock microseconds since the Unix epoch.
fn now_us() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_micros()
}
