//! Second review of the visits program (issue 8): failing tests, ignored, each with a comment
//! saying what is wrong. Run with `cargo test -p examples --test visits_binary_review2 --
//! --ignored` (which builds the example first).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn program() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>");
    dir.join("examples").join("visits")
}

fn pid_alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z "))
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// WRONG: closing the terminal the app runs in (SIGHUP; also `ssh` dropping, `tmux kill-session`,
/// systemd's `KillSignal=SIGHUP` setups) kills the program by the signal's default action, since
/// it listens only for Ctrl-C and SIGTERM: its `LocalRedis` is never dropped, and the
/// redis-server it started keeps running, reparented to init, with its temporary directory
/// (redis-server itself ignores SIGHUP, so the terminal's hang-up does not stop it either). The
/// README says the app stops its redis-server "on exit, Ctrl-C included".
/// Suggested fix: treat SIGHUP (and SIGQUIT) like SIGTERM in `shutdown_signal`; a belt and
/// braces is to have the child die with its parent (PR_SET_PDEATHSIG needs unsafe `pre_exec`,
/// which the workspace forbids; a watchdog thread or `redis-server`'s own config cannot do it).
#[test]
#[ignore = "review 2: SIGHUP (terminal closed) kills the app and leaves its redis-server running"]
fn a_hang_up_stops_its_redis_server_too() {
    if Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_err()
    {
        return;
    }
    let mut app = Killed(
        Command::new(program())
            .env_remove("REDIS_URL")
            .env("PORT", "0")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the example is built: cargo test -p examples"),
    );
    let mut out = BufReader::new(app.0.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    let redis_pid: u32 = first
        .split("pid ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .and_then(|pid| pid.parse().ok())
        .unwrap_or_else(|| panic!("the first line names redis-server's pid: {first:?}"));
    loop {
        let mut line = String::new();
        assert!(out.read_line(&mut line).unwrap() > 0, "the program ended");
        if line.contains("listening on") {
            break;
        }
    }
    let status = Command::new("kill")
        .args(["-HUP", &app.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.0.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the app did not stop on SIGHUP");
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(200));
    let orphaned = pid_alive(redis_pid);
    if orphaned {
        // Clean up after the app.
        let _ = Command::new("kill").arg(redis_pid.to_string()).status();
    }
    assert!(
        !orphaned,
        "redis-server (pid {redis_pid}) outlived the app after SIGHUP"
    );
}

/// WRONG: the program installs its SIGTERM/Ctrl-C handlers only after it has started its
/// redis-server and printed "listening on" (`shutdown_signal()` is first polled then). A SIGTERM
/// before that moment (a supervisor stopping a service that is still starting, or, as seen,
/// `visits_binary`'s own tests on a busy machine: 2 failures in 10 runs with both cores busy,
/// `it_runs_a_redis_server_of_its_own_serves_and_stops_it_on_sigterm` exiting with "signal: 15"
/// and `a_second_sigterm_stops_it_at_once` with "the program ended") kills the program by the
/// signal's default action, and its redis-server is left running. This test sends the SIGTERM as
/// soon as the redis-server child appears (while `LocalRedis::start` waits for its PING), which
/// makes the race near certain.
/// Suggested fix: create the `signal(SignalKind::terminate())` stream and the ctrl_c listener at
/// the very start of `run()` (before `LocalRedis::start()`), keep them, and await them later.
#[test]
#[ignore = "review 2: a SIGTERM during start-up kills the app by default action and orphans redis-server"]
fn a_sigterm_during_start_up_still_stops_its_redis_server() {
    if Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_err()
    {
        return;
    }
    let mut app = Killed(
        Command::new(program())
            .env_remove("REDIS_URL")
            .env("PORT", "0")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the example is built: cargo test -p examples"),
    );
    // The redis-server child, as soon as the app has spawned it.
    let children = format!("/proc/{pid}/task/{pid}/children", pid = app.0.id());
    let deadline = Instant::now() + Duration::from_secs(10);
    let redis_pid: u32 = loop {
        let listed = std::fs::read_to_string(&children).unwrap_or_default();
        if let Some(pid) = listed.split_whitespace().next() {
            break pid.parse().unwrap();
        }
        assert!(Instant::now() < deadline, "no redis-server child appeared");
        std::thread::sleep(Duration::from_micros(200));
    };
    let status = Command::new("kill")
        .args(["-TERM", &app.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = app.0.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < deadline, "the app did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(10));
    };
    std::thread::sleep(Duration::from_millis(200));
    let orphaned = pid_alive(redis_pid);
    if orphaned {
        let _ = Command::new("kill").arg(redis_pid.to_string()).status();
    }
    assert!(
        !orphaned,
        "redis-server (pid {redis_pid}) outlived the app, which exited with {exit}"
    );
}
