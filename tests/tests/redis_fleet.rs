//! The Redis store across real OS processes: each member of the fleet is a `fleet_member`
//! child process with a store of its own, driven through its stdin and stdout.
//!
//! Every child is killed and reaped when its [`Member`] is dropped, even when a test fails, and
//! every wait has a deadline. The tests of this file run one at a time: they measure latencies
//! and count calls on a small machine, and must not slow one another down.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tests::redis_server::RedisServer;

/// How long a member may take to answer a command that does not say how long it takes.
const ANSWER_LIMIT: Duration = Duration::from_secs(10);
/// How soon every member must hear of a change made by another.
const HEARD_WITHIN: Duration = Duration::from_millis(100);

/// Runs the tests of this file one at a time.
fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// A `fleet_member` process; killed and reaped on drop.
struct Member {
    label: String,
    child: Child,
    stdin: ChildStdin,
    answers: Receiver<String>,
}

impl Member {
    /// Starts a member on the Redis at `url`, and waits for its store to connect.
    fn spawn(label: &str, url: &str) -> Member {
        let mut child = Command::new(env!("CARGO_BIN_EXE_fleet_member"))
            .arg(url)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("fleet_member starts");
        let stdin = child.stdin.take().expect("its stdin");
        let stdout = child.stdout.take().expect("its stdout");
        let (lines, answers) = channel();
        // Ends when the child's stdout closes: when it exits or is killed.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let mut member = Member {
            label: label.to_owned(),
            child,
            stdin,
            answers,
        };
        let ready = member.answer(ANSWER_LIMIT);
        assert_eq!(ready, "ready connected=true", "{label} connects to Redis");
        member
    }

    /// Sends `command` without waiting for the answer.
    fn send(&mut self, command: &str) {
        writeln!(self.stdin, "{command}")
            .and_then(|()| self.stdin.flush())
            .unwrap_or_else(|e| panic!("{}: cannot send `{command}`: {e}", self.label));
    }

    /// The next answer, within `limit`.
    fn answer(&mut self, limit: Duration) -> String {
        match self.answers.recv_timeout(limit) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => panic!("{}: no answer within {limit:?}", self.label),
            Err(RecvTimeoutError::Disconnected) => {
                panic!("{}: exited ({:?})", self.label, self.child.try_wait())
            }
        }
    }

    /// Sends `command` and returns its answer.
    fn ask(&mut self, command: &str) -> String {
        self.send(command);
        let answer = self.answer(ANSWER_LIMIT);
        assert!(
            !answer.starts_with("error"),
            "{}: `{command}`: {answer}",
            self.label
        );
        answer
    }

    /// Kills the member with SIGKILL and reaps it.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts `N` members on `server`, each with the breaker `make` describes.
fn fleet<const N: usize>(server: &RedisServer, make: &str) -> [Member; N] {
    std::array::from_fn(|i| {
        let mut member = Member::spawn(&format!("member {i}"), &server.url());
        assert_eq!(member.ask(make), "made");
        member
    })
}

/// The value of `key=` in `answer`.
fn field<'a>(answer: &'a str, key: &str) -> &'a str {
    answer
        .split(' ')
        .find_map(|word| word.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no `{key}` in `{answer}`"))
}

fn number(answer: &str, key: &str) -> u128 {
    let value = field(answer, key);
    value
        .parse()
        .unwrap_or_else(|_| panic!("`{key}` is not a number in `{answer}`"))
}

/// The time left in the open state `state` (`open:<ms>`), or `None` if it is not open.
fn open_ms(state: &str) -> Option<u128> {
    state.strip_prefix("open:")?.parse().ok()
}

/// Wall-clock microseconds since the Unix epoch, as the members and Redis read it.
fn now_us() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_micros()
}

/// Redis's clock, in wall-clock microseconds since the Unix epoch.
fn redis_now_us(conn: &mut redis::Connection) -> u128 {
    let (secs, micros): (u128, u128) = redis::cmd("TIME").query(conn).unwrap();
    secs * 1_000_000 + micros
}

/// Asks `member` to wait (at most a second) until its breaker is `phase`; returns the answer,
/// and how long after `since` the answer came.
fn wait_for(member: &mut Member, phase: &str, since: Instant) -> (String, Duration) {
    let answer = member.ask(&format!("wait {phase} 1000"));
    let took = since.elapsed();
    assert!(
        answer.starts_with("reached"),
        "{} never became {phase}: {answer}",
        member.label
    );
    (answer, took)
}

/// Calls started in a member's `hammer`: when, in wall-clock microseconds, and by whom.
type Starts = Vec<(u128, String)>;

/// Has every member of `members` hammer with `command` at once; checks that each began in one
/// of `phases` (`open`, `half-open`) and kept its connection to Redis all along (a member that
/// loses it probes on its own, as it should); returns every call that ran, by start.
fn hammer(members: &mut [&mut Member], command: &str, phases: &[&str]) -> Starts {
    for member in members.iter_mut() {
        member.send(command);
    }
    let mut starts = Vec::new();
    for member in members.iter_mut() {
        let hammered = member.answer(ANSWER_LIMIT);
        let label = &member.label;
        assert!(hammered.starts_with("hammered"), "{label}: {hammered}");
        let began = field(&hammered, "began").split(':').next().unwrap();
        assert!(
            phases.contains(&began),
            "{label} began in {phases:?}: {hammered}"
        );
        assert_eq!(
            field(&hammered, "connected"),
            "true",
            "{label} kept its connection to Redis: {hammered}"
        );
        let at: Vec<u128> = field(&hammered, "starts")
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().unwrap())
            .collect();
        assert_eq!(at.len(), number(&hammered, "ran") as usize, "{hammered}");
        starts.extend(at.into_iter().map(|at| (at, label.clone())));
    }
    starts.sort();
    starts
}

/// `starts`, in words, in milliseconds from `origin`.
fn describe(starts: &[(u128, String)], origin: u128) -> String {
    starts
        .iter()
        .map(|(at, who)| format!("{who} at {:+} ms", (*at as i128 - origin as i128) / 1000))
        .collect::<Vec<_>>()
        .join(", ")
}

#[test]
fn a_trip_in_one_process_opens_the_circuit_in_another_and_a_close_in_either_closes_both() {
    let _serial = serial();
    let Some(server) = RedisServer::start() else {
        return;
    };
    let [mut a, mut b]: [Member; 2] = fleet(&server, "make inventory 400 1 5000");
    for member in [&mut a, &mut b] {
        assert_eq!(field(&member.ask("state"), "state"), "closed");
    }

    // A trips; B hears of it.
    let tripped = a.ask("call fail");
    let trip_reported = Instant::now();
    assert!(open_ms(field(&tripped, "state")).is_some(), "{tripped}");
    let (seen, took) = wait_for(&mut b, "open", trip_reported);
    assert!(
        took < HEARD_WITHIN,
        "B saw the trip {took:?} after A: {seen}"
    );
    let left = open_ms(field(&seen, "state")).unwrap();
    assert!(
        (250..=400).contains(&left),
        "B's open period is A's: {seen}"
    );
    assert!(b.ask("call ok").starts_with("refused"));

    // B resets; A hears of it, and calls again.
    let reset = b.ask("reset");
    let reset_reported = Instant::now();
    assert_eq!(field(&reset, "state"), "closed");
    let (seen, took) = wait_for(&mut a, "closed", reset_reported);
    assert!(
        took < HEARD_WITHIN,
        "A saw the reset {took:?} after B: {seen}"
    );
    assert!(a.ask("call ok").starts_with("ran"));

    // A trips again; once the open period ends, B's probe succeeds and closes the circuit in A.
    assert!(a.ask("call fail").starts_with("ran"));
    wait_for(&mut b, "open", Instant::now());
    let probed = b.ask("probe ok 2000");
    let probe_reported = Instant::now();
    assert!(probed.starts_with("ran"), "B probes: {probed}");
    assert_eq!(field(&probed, "state"), "closed", "{probed}");
    let (seen, took) = wait_for(&mut a, "closed", probe_reported);
    assert!(
        took < HEARD_WITHIN,
        "A saw B's probe close the circuit {took:?} after B: {seen}"
    );
    assert!(a.ask("call ok").starts_with("ran"));
}

#[test]
fn a_process_started_while_the_circuit_is_open_learns_it_from_redis_at_once() {
    let _serial = serial();
    let Some(server) = RedisServer::start() else {
        return;
    };
    let [mut a]: [Member; 1] = fleet(&server, "make ledger 20000 1 5000");
    let tripped = a.ask("call fail");
    let trip = Instant::now();
    assert!(tripped.starts_with("ran"), "{tripped}");
    let mut conn = server.connection();
    let in_redis = tests::within(tests::SEC, || {
        redis::cmd("EXISTS")
            .arg("failfast:{ledger}:open")
            .query::<bool>(&mut conn)
            .unwrap()
    });
    assert!(in_redis.is_some(), "the trip reaches Redis");

    // A process of its own, started after the trip, with an open period of its own far shorter.
    let mut late = Member::spawn("late", &server.url());
    assert_eq!(late.ask("make ledger 5000 1 5000"), "made");
    let (seen, _) = wait_for(&mut late, "open", Instant::now());
    let since_made = Duration::from_millis(number(&seen, "since_made_ms") as u64);
    assert!(
        since_made < HEARD_WITHIN,
        "the late joiner learned the circuit was open {since_made:?} after making its breaker: {seen}"
    );
    let left = open_ms(field(&seen, "state")).unwrap();
    let most = 20_000 - trip.elapsed().as_millis().min(20_000);
    assert!(
        left <= 20_000 && left + 200 >= most,
        "the time left comes from Redis (A's 20 s, about {most} ms left), not the joiner's 5 s: {seen}"
    );
    assert!(late.ask("call ok").starts_with("refused"));
}

/// Eight processes hammer a failing backend that takes 30 ms a call, across the end of a short
/// open period. The breakers open for 10 s after a failed probe, so the measurement holds
/// exactly one half-open period: every call that ran, in any process, was one of its probes.
fn the_fleet_sends_at_most_its_probes_when_the_open_period_ends(probes: u32) {
    let _serial = serial();
    let Some(server) = RedisServer::start() else {
        return;
    };
    let mut fleet: [Member; 8] = fleet(&server, &format!("make search 10000 {probes} 5000"));
    let forced = fleet[0].ask("force_open 600");
    assert!(open_ms(field(&forced, "state")).is_some(), "{forced}");
    for member in &mut fleet {
        wait_for(member, "open", Instant::now());
    }
    // When the open period ends, on the clock of Redis (and of the members: the same host's).
    let mut conn = server.connection();
    let pttl: i64 = redis::cmd("PTTL")
        .arg("failfast:{search}:open")
        .query(&mut conn)
        .unwrap();
    assert!(
        pttl > 300,
        "the open period has most of its 600 ms left: {pttl}"
    );
    let ends_at = redis_now_us(&mut conn) + pttl as u128 * 1000;

    let starts = hammer(&mut fleet.each_mut(), "hammer 2000 fail 30", &["open"]);
    let listed = || describe(&starts, ends_at);
    assert!(
        (1..=probes as usize).contains(&starts.len()),
        "{} calls ran across the fleet in one half-open period, with probes = {probes}: {} \
         (times from the end of the open period)",
        starts.len(),
        listed()
    );
    assert!(
        starts.iter().all(|(at, _)| *at + 2_000 >= ends_at),
        "no call ran before the open period ended: {}",
        listed()
    );
    // The failed probe opened the circuit again, everywhere, for the breakers' 10 s.
    for member in &mut fleet {
        let state = member.ask("state");
        let left = open_ms(field(&state, "state"));
        assert!(
            left.is_some_and(|left| left > 7_000),
            "{}: {state}",
            member.label
        );
    }
}

#[test]
fn the_fleet_sends_one_probe_when_the_open_period_ends() {
    the_fleet_sends_at_most_its_probes_when_the_open_period_ends(1);
}

#[test]
fn the_fleet_sends_at_most_two_probes_when_the_open_period_ends() {
    the_fleet_sends_at_most_its_probes_when_the_open_period_ends(2);
}

/// Eight processes hammer a failing backend for 2.5 s, with breakers that open for 250 ms: the
/// circuit goes through several half-open periods, each ended by a failed probe. The calls that
/// ran come in bursts, one per half-open period, with an open period of 250 ms between two:
/// each burst holds at most the two probes the breakers allow, so no token outlives its period.
#[test]
fn every_half_open_period_sends_at_most_the_probes_of_the_fleet() {
    let _serial = serial();
    let Some(server) = RedisServer::start() else {
        return;
    };
    let mut fleet: [Member; 8] = fleet(&server, "make geo 250 2 5000");
    let tripped = fleet[0].ask("call fail");
    assert!(open_ms(field(&tripped, "state")).is_some(), "{tripped}");
    for member in &mut fleet {
        wait_for(member, "open", Instant::now());
    }
    let started = now_us();
    let starts = hammer(&mut fleet.each_mut(), "hammer 2500 fail 30", &["open"]);
    // Calls more than 125 ms apart are in different half-open periods: a period lasts about
    // as long as its first probe, 30 ms, and the next one begins 250 ms after it failed.
    let mut bursts: Vec<Vec<(u128, String)>> = Vec::new();
    for call in starts.iter().cloned() {
        match bursts.last_mut() {
            Some(burst) if call.0 < burst.last().unwrap().0 + 125_000 => burst.push(call),
            _ => bursts.push(vec![call]),
        }
    }
    let listed = || {
        bursts
            .iter()
            .map(|burst| format!("[{}]", describe(burst, started)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert!(
        bursts.len() >= 4,
        "the circuit went half-open every 250 ms or so: {}",
        listed()
    );
    assert!(
        bursts.iter().all(|burst| burst.len() <= 2),
        "at most two calls ran in each half-open period: {}",
        listed()
    );
}

#[test]
fn a_probe_token_held_by_a_killed_process_expires_after_the_probe_timeout() {
    let _serial = serial();
    let Some(server) = RedisServer::start() else {
        return;
    };
    let [mut holder, mut x, mut y]: [Member; 3] = fleet(&server, "make crash 10000 1 500");
    holder.ask("force_open 300");
    for member in [&mut holder, &mut x, &mut y] {
        wait_for(member, "open", Instant::now());
    }

    // The holder probes, and its call never returns.
    holder.send("hold 3000");
    let holding = holder.answer(ANSWER_LIMIT);
    assert!(holding.starts_with("holding"), "{holding}");
    let probe_began = number(&holding, "at");
    let mut conn = server.connection();
    let tokens: Vec<(String, u128)> = redis::cmd("ZRANGE")
        .arg("failfast:{crash}:probes")
        .arg(0)
        .arg(-1)
        .arg("WITHSCORES")
        .query::<Vec<(String, f64)>>(&mut conn)
        .unwrap()
        .into_iter()
        .map(|(holder, expires)| (holder, expires as u128 * 1000))
        .collect();
    let [(_, expires)] = tokens[..] else {
        panic!("one probe token is held in Redis: {tokens:?}");
    };
    // The token was claimed just before the probe began, for the probe timeout.
    let ttl_left = expires as i128 - probe_began as i128;
    assert!(
        (400_000..=501_000).contains(&ttl_left),
        "the token expires 500 ms after it was claimed: {} µs after the probe began",
        ttl_left
    );

    holder.kill();
    let killed = now_us();
    assert!(
        killed < expires,
        "the holder was killed mid-probe, {} ms before its token expires",
        (expires as i128 - killed as i128) / 1000
    );

    // The others want to probe from now on; the first probe waits for the token to expire.
    let ran = hammer(
        &mut [&mut x, &mut y],
        "hammer 2000 fail 30",
        &["open", "half-open"],
    );
    let listed = || describe(&ran, expires);
    assert_eq!(
        ran.len(),
        1,
        "one probe ran after the holder was killed (times from the token's expiry): {}",
        listed()
    );
    let (at, _) = &ran[0];
    assert!(
        *at + 2_000 >= expires && *at >= probe_began + 450_000,
        "no probe ran before the dead holder's token expired: {}",
        listed()
    );
    assert!(
        *at <= expires + 500_000,
        "a probe ran soon after the dead holder's token expired: {}",
        listed()
    );
    for member in [&mut x, &mut y] {
        let state = member.ask("state");
        assert!(
            open_ms(field(&state, "state")).is_some_and(|left| left > 7_000),
            "the failed probe opened the circuit again: {}: {state}",
            member.label
        );
    }
}
