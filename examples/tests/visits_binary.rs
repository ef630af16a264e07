//! The `visits` example as a user runs it: the built program, its environment, its output and
//! its exit. This test lives in the examples package because `cargo test -p examples` (and
//! `--workspace`) builds the package's examples before running its tests; `--test` alone does
//! not, which the test notices.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The built example, beside this test's own binary: `target/<profile>/examples/visits`.
fn program() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>");
    let program = dir.join("examples").join("visits");
    let built = std::fs::metadata(&program)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| {
            panic!(
                "{} is not built: run cargo test -p examples",
                program.display()
            )
        });
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let newest = newest_change(&root.join("src")).max(newest_change(&root.join("visits.rs")));
    assert!(
        newest <= built,
        "{} is older than its sources: run cargo test -p examples, which rebuilds it",
        program.display()
    );
    program
}

/// When the file, or the newest file under the folder, last changed.
fn newest_change(path: &std::path::Path) -> std::time::SystemTime {
    let meta = std::fs::metadata(path).expect("a source path");
    let mut newest = meta.modified().unwrap();
    if meta.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            newest = newest.max(newest_change(&entry.unwrap().path()));
        }
    }
    newest
}

fn redis_server_installed() -> bool {
    let found = Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(found || !ci, "redis-server is not installed, and CI=true");
    found
}

fn pid_alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z "))
}

fn get(addr: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("the app listens");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

/// Reads the program's stdout until a line contains `marker`; returns every line read.
fn read_until(out: &mut impl BufRead, marker: &str) -> Vec<String> {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "the program ended: {lines:?}"
        );
        let done = line.contains(marker);
        lines.push(line.trim_end().to_owned());
        if done {
            return lines;
        }
    }
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn without_redis_server_it_says_what_to_install_and_exits_non_zero() {
    let output = Command::new(program())
        .env_remove("REDIS_URL")
        .env("PATH", "/nonexistent")
        .env("PORT", "0")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("redis-server"))
        .collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].contains("install") && lines[0].contains("REDIS_URL"),
        "{stderr}"
    );
}

#[test]
fn a_bad_port_or_breaker_setting_is_named_in_the_error() {
    for (name, value) in [("PORT", "eighty"), ("BREAKER", "maybe")] {
        let output = Command::new(program())
            .env("REDIS_URL", "redis://127.0.0.1:1/")
            .env(name, value)
            .output()
            .unwrap();
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(name) && stderr.contains(value), "{stderr}");
    }
}

/// The program on a redis-server of its own: the child, redis-server's pid, the address, and
/// the rest of its output.
fn start_program() -> (Killed, u32, String, impl BufRead + Send + 'static) {
    let mut app = Killed(
        Command::new(program())
            .env_remove("REDIS_URL")
            .env("PORT", "0")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut out = BufReader::new(app.0.stdout.take().unwrap());
    let lines = read_until(&mut out, "listening on");
    let redis_pid: u32 = lines[0]
        .split("pid ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .and_then(|pid| pid.parse().ok())
        .unwrap_or_else(|| panic!("the first line names redis-server's pid: {lines:?}"));
    assert!(
        lines[1].contains(&format!("kill -STOP {redis_pid}")),
        "{lines:?}"
    );
    let addr = lines
        .last()
        .unwrap()
        .split("http://")
        .nth(1)
        .unwrap()
        .trim_end_matches('/')
        .to_owned();
    (app, redis_pid, addr, out)
}

fn terminate(app: &Killed) {
    signal(app, "-TERM");
}

fn signal(app: &Killed, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &app.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Whether `pid` is gone, checking for up to a second (a killed child takes a moment to go).
fn gone(pid: u32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(1);
    while pid_alive(pid) {
        if Instant::now() > deadline {
            let _ = Command::new("kill").arg(pid.to_string()).status(); // clean up after the app
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

/// Waits for the program to exit, for at most `limit`.
fn exits_within(app: &mut Killed, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(exit) = app.0.try_wait().unwrap() {
            return exit;
        }
        assert!(
            Instant::now() < deadline,
            "the app did not stop within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn it_runs_a_redis_server_of_its_own_serves_and_stops_it_on_sigterm() {
    if !redis_server_installed() {
        return;
    }
    let (mut app, redis_pid, addr, _out) = start_program();
    let answer = get(&addr, "/");
    assert!(
        answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200"),
        "{answer}"
    );
    assert!(answer.contains("visited 1 times"), "{answer}");
    assert!(get(&addr, "/health").contains(r#""state":"closed""#));

    terminate(&app);
    let exit = exits_within(&mut app, Duration::from_secs(10));
    assert!(exit.success(), "{exit}");
    assert!(
        !pid_alive(redis_pid),
        "redis-server (pid {redis_pid}) outlived the app"
    );
}

/// A client that never finishes its request holds the graceful shutdown for its grace (5 s); a
/// second SIGTERM stops the program at once, and still stops its redis-server.
#[test]
fn a_second_sigterm_stops_it_at_once() {
    if !redis_server_installed() {
        return;
    }
    let (mut app, redis_pid, addr, mut out) = start_program();
    let mut stuck = TcpStream::connect(&addr).unwrap();
    stuck.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
    assert!(
        get(&addr, "/health").contains("closed"),
        "the app takes connections"
    );
    terminate(&app);
    read_until(&mut out, "stopping");
    terminate(&app);
    let exit = exits_within(&mut app, Duration::from_secs(2));
    assert!(exit.success(), "{exit}");
    assert!(
        !pid_alive(redis_pid),
        "redis-server (pid {redis_pid}) outlived the app"
    );
    drop(stuck);
}

/// Once, closing the terminal the app ran in (SIGHUP; an `ssh` drop too) killed it by the
/// signal's default action, since it listened only for Ctrl-C and SIGTERM, and the
/// redis-server it started (which ignores SIGHUP) kept running. Now SIGHUP and SIGQUIT stop it
/// as SIGTERM does. (A SIGKILL still leaves the server behind: making the child die with its
/// parent needs `unsafe`, which the workspace forbids.)
#[test]
fn a_hang_up_stops_its_redis_server_too() {
    if !redis_server_installed() {
        return;
    }
    let (mut app, redis_pid, _addr, _out) = start_program();
    signal(&app, "-HUP");
    let exit = exits_within(&mut app, Duration::from_secs(10));
    assert!(exit.success(), "{exit}");
    assert!(
        gone(redis_pid),
        "redis-server (pid {redis_pid}) outlived the app"
    );
}

/// Once, the program listened for signals only once it was serving, so a SIGTERM during
/// start-up (a supervisor stopping a service still starting; this very test suite on a busy
/// machine) killed it by the default action and left its redis-server running. Now it listens
/// from its first line. This test sends the SIGTERM as soon as the redis-server child appears.
#[test]
fn a_sigterm_during_start_up_still_stops_its_redis_server() {
    if !redis_server_installed() {
        return;
    }
    let mut app = Killed(
        Command::new(program())
            .env_remove("REDIS_URL")
            .env("PORT", "0")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
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
    terminate(&app);
    let exit = exits_within(&mut app, Duration::from_secs(10));
    assert!(
        gone(redis_pid),
        "redis-server (pid {redis_pid}) outlived the app ({exit})"
    );
}
