//! Regressions from the second review of the visits program: each test's comment says how it
//! once failed, and what fixed it.

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

/// Once, closing the terminal the app ran in (SIGHUP; an `ssh` drop too) killed it by the
/// signal's default action, since it listened only for Ctrl-C and SIGTERM, and the
/// redis-server it started (which ignores SIGHUP) kept running. Now SIGHUP and SIGQUIT stop it
/// as SIGTERM does. (A SIGKILL still leaves the server behind: making the child die with its
/// parent needs `unsafe`, which the workspace forbids.)
#[test]
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

/// Once, the program listened for signals only once it was serving, so a SIGTERM during
/// start-up (a supervisor stopping a service still starting; this very test suite on a busy
/// machine) killed it by the default action and left its redis-server running. Now it listens
/// from its first line. This test sends the SIGTERM as soon as the redis-server child appears.
#[test]
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
