//! A `redis-server` of a test's own: on a free loopback port, in a temporary directory, with no
//! persistence, stopped when dropped. It can be paused, killed and restarted empty.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use failfast::RedisStore;
use std::time::{Duration, Instant};

/// How long a server may take to start answering.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A running `redis-server` of the test's own.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
    extra: Vec<String>,
}

/// Whether `redis-server` can be run here. Outside CI, a missing server is said once, in one
/// line, and the Redis tests skip; with `CI=true` it is a failure.
pub fn available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    let available = *AVAILABLE.get_or_init(|| {
        let found = Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found && !in_ci() {
            eprintln!(
                "redis-server is not installed: skipping the Redis tests (apt-get install redis-server)"
            );
        }
        found
    });
    assert!(
        available || !in_ci(),
        "redis-server is not installed, and CI=true: the Redis tests must run in CI"
    );
    available
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A free TCP port on loopback, as far as one can tell.
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl RedisServer {
    /// Starts a server, or returns `None` if `redis-server` is not installed (outside CI).
    pub fn start() -> Option<RedisServer> {
        Self::start_with(&[])
    }

    /// Starts a server with extra command-line settings, such as `["--cluster-enabled", "yes"]`.
    pub fn start_with(extra: &[&str]) -> Option<RedisServer> {
        if !available() {
            return None;
        }
        let mut last = String::new();
        for _ in 0..5 {
            let mut server = Self::stopped(free_port(), extra);
            match server.spawn() {
                Ok(()) => return Some(server),
                Err(e) => last = e,
            }
        }
        panic!("redis-server did not start on a free port in 5 tries: {last}");
    }

    /// A server on `port` that is not started yet: [`RedisServer::restart`] starts it.
    pub fn stopped(port: u16, extra: &[&str]) -> RedisServer {
        RedisServer {
            child: None,
            port,
            dir: tempfile::tempdir().expect("a temporary directory"),
            extra: extra.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn spawn(&mut self) -> Result<(), String> {
        let log = self.dir.path().join("redis.log");
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .args(["--logfile", &log.display().to_string()])
            .args(["--dir", &self.dir.path().display().to_string()])
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("redis-server: {e}"))?;
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if self.answers() {
                return Ok(());
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                return Err(format!("redis-server exited: {status}; {}", read(&log)));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        self.kill();
        Err(format!(
            "redis-server did not answer within {START_TIMEOUT:?}"
        ))
    }

    /// Whether the server answers a PING (a server with a password answers it with an error).
    fn answers(&self) -> bool {
        let pong = redis::Client::open(self.url())
            .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(200)))
            .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c));
        match pong {
            Ok(_) => true,
            Err(e) => e.code() == Some("NOAUTH"),
        }
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's URL.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("the server runs").id()
    }

    /// A connection for the test to look at and change what the server holds.
    pub fn connection(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(2)))
            .expect("a connection to the test's redis-server")
    }

    /// Stops the server with SIGSTOP: it keeps its connections and answers nothing, as under
    /// `docker compose pause`.
    pub fn pause(&self) {
        signal(self.pid(), "-STOP");
    }

    /// Resumes a paused server.
    pub fn resume(&self) {
        signal(self.pid(), "-CONT");
    }

    /// Kills the server: its connections are reset and its port refuses new ones.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, empty (or for the first time).
    pub fn restart(&mut self) {
        self.kill();
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            match self.spawn() {
                Ok(()) => return,
                // The port may linger for a moment after the kill.
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => panic!("redis-server did not restart: {e}"),
            }
        }
    }

    /// The server's directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Whether something accepts connections on the server's port.
    pub fn listening(&self) -> bool {
        TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).is_ok()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if self.child.is_some() {
            // A paused server must be resumed to die of SIGKILL promptly everywhere.
            signal(self.pid(), "-CONT");
        }
        self.kill();
    }
}

fn signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill {signal} {pid}");
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Waits until `store` is connected, for at most 5 s; panics if it does not connect.
pub fn connected(store: RedisStore) -> RedisStore {
    assert!(
        store.wait_connected(Duration::from_secs(5)),
        "{store:?} connects"
    );
    store
}

/// A field of a hash, as the test's connection reads it.
pub fn hget(conn: &mut redis::Connection, key: &str, field: &str) -> Option<String> {
    redis::cmd("HGET").arg(key).arg(field).query(conn).unwrap()
}

/// Waits, for at most 2 s, until the record of `name` (default prefix) has `phase` in Redis.
pub fn record_is(server: &RedisServer, name: &str, phase: &str) {
    let mut conn = server.connection();
    let key = format!("failfast:{{{name}}}:state");
    crate::within(Duration::from_secs(2), || {
        hget(&mut conn, &key, "phase").as_deref() == Some(phase)
    })
    .unwrap_or_else(|| panic!("the record of {name} becomes {phase}"));
}

/// Three masters of a Redis Cluster, their slots assigned and the cluster's state ok; `None`
/// if redis-server is not installed (outside CI).
pub fn cluster() -> Option<Vec<RedisServer>> {
    let settings = [
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        "nodes.conf",
        "--cluster-node-timeout",
        "2000",
    ];
    let nodes: Vec<RedisServer> = (0..3)
        .map(|_| RedisServer::start_with(&settings))
        .collect::<Option<_>>()?;
    let addresses: Vec<String> = nodes
        .iter()
        .map(|n| format!("127.0.0.1:{}", n.port()))
        .collect();
    let created = Command::new("redis-cli")
        .args(["--cluster", "create"])
        .args(&addresses)
        .args(["--cluster-replicas", "0", "--cluster-yes"])
        .output()
        .expect("redis-cli (package redis-tools) is installed with redis-server");
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stdout)
    );
    for node in &nodes {
        let mut conn = node.connection();
        crate::within(Duration::from_secs(10), || {
            let info: String = redis::cmd("CLUSTER").arg("INFO").query(&mut conn).unwrap();
            info.contains("cluster_state:ok")
        })
        .expect("the cluster comes up");
    }
    Some(nodes)
}
