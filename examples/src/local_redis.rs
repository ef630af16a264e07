//! A `redis-server` of the example's own: a child process on a free loopback port, in a temporary
//! directory, without persistence, stopped when dropped. It lets the examples run with nothing
//! set up but an installed `redis-server`.

use std::io;
use std::net::{Ipv4Addr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a fresh server may take to answer.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// What went wrong starting a local Redis.
#[derive(Debug, thiserror::Error)]
pub enum LocalRedisError {
    /// The `redis-server` program is not on the `PATH`.
    #[error(
        "redis-server is not installed: install it (apt-get install redis-server, or brew install redis) or set REDIS_URL"
    )]
    NotInstalled,
    /// The program ran but no server answered.
    #[error("redis-server did not start: {0}")]
    DidNotStart(String),
    /// The temporary directory or the port could not be had.
    #[error("could not prepare redis-server: {0}")]
    Io(#[from] io::Error),
}

/// A running `redis-server` child; dropping it stops the server and removes its directory.
#[derive(Debug)]
pub struct LocalRedis {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl LocalRedis {
    /// Starts a server on a free port of 127.0.0.1 and waits until it answers. A port found
    /// free may be taken before the server binds it: then it tries another, a few times.
    pub fn start() -> Result<LocalRedis, LocalRedisError> {
        let mut tries = 0;
        loop {
            match Self::start_once() {
                Err(LocalRedisError::DidNotStart(_)) if tries < 4 => tries += 1,
                started => return started,
            }
        }
    }

    fn start_once() -> Result<LocalRedis, LocalRedisError> {
        let dir = tempfile::tempdir()?;
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
            .local_addr()?
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .arg("--logfile")
            .arg(dir.path().join("redis.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| match e.kind() {
                io::ErrorKind::NotFound => LocalRedisError::NotInstalled,
                _ => LocalRedisError::Io(e),
            })?;
        let mut redis = LocalRedis {
            child,
            port,
            _dir: dir,
        };
        redis.wait_until_it_answers()?;
        Ok(redis)
    }

    fn wait_until_it_answers(&mut self) -> Result<(), LocalRedisError> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                let log =
                    std::fs::read_to_string(self._dir.path().join("redis.log")).unwrap_or_default();
                let last = log.lines().last().unwrap_or("no log").to_owned();
                return Err(LocalRedisError::DidNotStart(format!("{status}: {last}")));
            }
            let pong = redis::Client::open(self.url())
                .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(200)))
                .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c));
            if pong.is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(LocalRedisError::DidNotStart(format!(
                    "no answer on port {} within {START_TIMEOUT:?}",
                    self.port
                )));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The URL to connect to it: `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The server's process id, for `kill -STOP <pid>` and `kill -CONT <pid>`.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Freezes the server (`SIGSTOP`), as `docker compose pause` does: connections stay open and
    /// nothing answers.
    pub fn pause(&self) -> io::Result<()> {
        self.signal("-STOP")
    }

    /// Thaws a paused server (`SIGCONT`).
    pub fn resume(&self) -> io::Result<()> {
        self.signal("-CONT")
    }

    fn signal(&self, signal: &str) -> io::Result<()> {
        let status = Command::new("kill")
            .arg(signal)
            .arg(self.pid().to_string())
            .status()?;
        if status.success() {
            Ok(())
        } else {
            Err(io::Error::other(format!("kill {signal} failed: {status}")))
        }
    }
}

impl Drop for LocalRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
