//! Regressions from the review of the visits app: each test's comment says how the app once
//! failed, and what fixed it.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use examples::visits::{self, Config, Running};
use tests::redis_server::RedisServer;

const REDIS_TIMEOUT: Duration = Duration::from_millis(250);

async fn start_on(url: String, open_for: Duration) -> Running {
    let mut config = Config::new(url);
    config.addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    config.redis_timeout = REDIS_TIMEOUT;
    config.open_for = open_for;
    config.shutdown_grace = Duration::from_millis(500);
    visits::start(config).await.expect("the app starts")
}

/// (status, body) of `GET /`.
async fn visit(client: &reqwest::Client, app: &Running) -> (u16, String) {
    let response = client
        .get(format!("http://{}/", app.addr()))
        .send()
        .await
        .expect("the app answers");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

fn fresh(answer: &(u16, String)) -> bool {
    answer.0 == 200 && !answer.1.contains("stale")
}

/// Once, `Running::stop` waited for every open connection without a bound: one client that had
/// sent half a request kept it waiting forever, and in the binary a second Ctrl-C was swallowed,
/// so only SIGKILL stopped it, leaving its redis-server behind. Now the graceful shutdown lasts
/// at most `shutdown_grace`, and a second signal stops the binary at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_returns_even_while_a_client_holds_a_half_sent_request() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let app = start_on(server.url(), Duration::from_secs(5)).await;
    let mut stuck = TcpStream::connect(app.addr()).unwrap();
    stuck.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap(); // no blank line: never ends
    tokio::time::sleep(Duration::from_millis(100)).await;
    let stopped = tokio::time::timeout(Duration::from_secs(10), app.stop()).await;
    assert!(
        stopped.is_ok(),
        "stop() still waiting after 10 s on a client that never finished its request"
    );
    drop(stuck);
}

/// Once, the first probe after Redis came back from a kill failed anyway: the
/// `ConnectionManager` hands out the failure of its last attempt to connect ("Connection
/// refused") before it tries again, so the circuit opened for another whole period while Redis
/// was fine. Now the counter retries a refused connection once (nothing was sent, so it cannot
/// count twice).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_redis_restart_the_first_probe_counts_again() {
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let open_for = Duration::from_millis(800);
    let app = start_on(server.url(), open_for).await;
    let client = reqwest::Client::new();
    assert!(fresh(&visit(&client, &app).await));

    server.kill();
    let failed = visit(&client, &app).await;
    assert!(failed.1.contains("stale"), "{failed:?}");
    // A probe while Redis is still down: it fails and the circuit opens again (as it should).
    tokio::time::sleep(open_for + Duration::from_millis(300)).await;
    let probe_while_down = visit(&client, &app).await;
    assert!(
        probe_while_down.1.contains("Redis failed"),
        "{probe_while_down:?}"
    );
    // Let the ConnectionManager's reconnection attempts (one retry, backoff up to 1 s) finish.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    server.restart(); // same port, answers PING when this returns
    tokio::time::sleep(open_for).await; // the open period is over: the next request probes
    let started = Instant::now();
    let mut answers = Vec::new();
    loop {
        let answer = visit(&client, &app).await;
        let done = fresh(&answer);
        answers.push(answer);
        if done || started.elapsed() > open_for * 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The first answer may be stale while the probe token is claimed (as the README says);
    // but no request should find Redis failed: it answers again.
    assert!(
        answers.iter().any(fresh) && !answers.iter().any(|a| a.1.contains("Redis failed")),
        "Redis answers again, yet the probe failed; answers until counting resumed: {answers:#?}"
    );
    app.stop().await;
}

/// Once, a password Redis refused (say, during a rotation where the app got the new password
/// first) was kept by the `ConnectionManager` for good, since it reconnects only after I/O
/// errors: every visit answered 500 until the app was restarted. Now the counter makes a new
/// connection after an authentication failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_counter_recovers_once_the_password_is_accepted() {
    let Some(server) = RedisServer::start_with(&["--requirepass", "old"]) else {
        return;
    };
    let url = format!("redis://:new@127.0.0.1:{}/", server.port());
    let app = start_on(url, Duration::from_millis(500)).await;
    let client = reqwest::Client::new();
    let refused = visit(&client, &app).await;
    assert_eq!(refused.0, 500, "{refused:?}");

    // The rotation completes: Redis now takes the app's password.
    let mut admin = redis::Client::open(format!("redis://:old@127.0.0.1:{}/", server.port()))
        .unwrap()
        .get_connection_with_timeout(Duration::from_secs(2))
        .unwrap();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("requirepass")
        .arg("new")
        .query(&mut admin)
        .unwrap();

    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last = visit(&client, &app).await;
    while !fresh(&last) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        last = visit(&client, &app).await;
    }
    assert!(
        fresh(&last),
        "10 s after Redis accepts the password the app still fails: {last:?}"
    );
    app.stop().await;
}
