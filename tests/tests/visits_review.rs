//! Review of issue 8 (the visits app): failures found by attacking the app. Each test here shows
//! a real problem and is ignored until it is fixed; the comment on each says what is wrong.

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

/// `Running::stop` says it "lets the requests under way finish, and returns", and the binary
/// awaits it after Ctrl-C / SIGTERM. But axum's graceful shutdown waits for every open
/// connection, with no bound: one client that has sent half a request (a slow or stuck client,
/// a half-open connection through a proxy, a slowloris) keeps `stop` waiting forever. In the
/// binary, `shutdown_signal` has already consumed the signal handler, so further Ctrl-Cs and
/// SIGTERMs are swallowed too: only SIGKILL stops it, which leaves its redis-server child behind.
/// Fix: bound the graceful shutdown (e.g. `tokio::time::timeout(grace, server)` then abort the
/// task), and/or exit at once on a second signal.
#[ignore = "review of issue 8: stop() hangs forever while a client holds a half-sent request"]
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

/// When Redis is killed and comes back (a restart, a failover), the first probe after it is
/// back fails anyway: the `ConnectionManager` keeps the failed reconnection future of the outage
/// ("Connection refused") and hands that cached error to the next command, and only then starts
/// a new connection. The probe fails, the circuit opens for another full open period, and
/// counting resumes one open period later than the README's "the open period plus one probe"
/// (with the 5 s default, 5 s of stale answers while Redis is fine). A deterministic repro;
/// `curl` shows the same: after `redis-cli ping` answers, the next probe says "Redis failed:
/// Connection refused (os error 111)".
/// Fix: in `Counter::incr`, when the error is a refused/reset connection (the command was never
/// sent, so an INCR retry cannot double count), retry once: the ConnectionManager has just
/// started a fresh connection; or probe with `ConnectionManager`'s reconnect triggered upfront.
#[ignore = "review of issue 8: after a Redis restart the first probe fails on a cached connection error"]
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

/// A connection error that is not an I/O error (here: a wrong password, as during a password
/// rotation where the app got the new password before Redis did) is cached by the
/// `ConnectionManager` for good: it only reconnects after I/O errors. Once Redis accepts the
/// password, the Redis store reconnects (`redis_store_connected` turns true) but every `GET /`
/// still answers 500 "Password authentication failed", forever, until the app is restarted.
/// /health meanwhile says `"status":"ok"`. Fix: make a fresh connection (or trigger the manager's
/// reconnect) when the counter's connection failed with a non-I/O error, e.g. keep the
/// `MultiplexedConnection` in the app behind a lock and rebuild it on such errors, with a bound.
#[ignore = "review of issue 8: a failed AUTH at connect is cached forever; the counter never recovers"]
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

/// `LoadConfig::phase` is a `Duration`, but goose's run time is set to `(3 * phase).as_secs()`:
/// whole seconds, rounded down. A phase under 334 ms gives goose a run time of 0, which goose
/// takes as "no limit": the load test never stops by itself (the issue: "it stops by itself"),
/// and `run` never returns. A phase of 1.5 s runs goose for 4 s, not 4.5 s, so the "resumed"
/// phase is cut short. Fix: reject phases that are not whole seconds (or round 3 * phase up and
/// stop goose from the outage task), e.g. `LoadConfig` taking `phase_secs: u64`.
#[ignore = "review of issue 8: a sub-second LoadConfig::phase makes goose run forever"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_load_test_with_a_short_phase_stops_by_itself() {
    if !tests::redis_server::available() {
        return;
    }
    let config = examples::visits_load::LoadConfig {
        users: 2,
        phase: Duration::from_millis(300),
        redis_timeout: Duration::from_millis(100),
        open_for: Duration::from_millis(200),
    };
    let run = tokio::time::timeout(
        Duration::from_secs(20),
        examples::visits_load::run(&config, true),
    )
    .await;
    assert!(
        run.is_ok(),
        "three phases of 300 ms still running after 20 s"
    );
}
