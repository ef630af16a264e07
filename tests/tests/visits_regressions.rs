//! Regressions from the reviews of the visits app: each test's comment says how the app once
//! failed (or, for the one ignored, how it still does), and what fixed it.

use std::io::{Read, Write};
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

/// Visits until an answer is fresh, for at most `limit`; every answer.
async fn visit_until_fresh(
    client: &reqwest::Client,
    app: &Running,
    limit: Duration,
) -> Vec<(u16, String)> {
    let started = Instant::now();
    let mut answers = Vec::new();
    loop {
        let answer = visit(client, app).await;
        let done = fresh(&answer);
        answers.push(answer);
        if done || started.elapsed() > limit {
            return answers;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
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
    let answers = visit_until_fresh(&client, &app, open_for * 3).await;
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

/// The id of the counter's connection in `CLIENT LIST` (the one that last ran INCRBY).
fn counter_client_id(admin: &mut redis::Connection) -> String {
    let list: String = redis::cmd("CLIENT").arg("LIST").query(admin).unwrap();
    list.lines()
        .find(|l| l.contains("cmd=incrby"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|id| id.strip_prefix("id="))
        .unwrap_or_else(|| panic!("no counter connection in {list}"))
        .to_owned()
}

/// Once, a Redis that closes idle connections (`timeout` in redis.conf; managed services,
/// proxies and NAT do the same) tripped the circuit on the first visit after every idle
/// period, though Redis was healthy: the connection manager notices the closed connection only
/// when the INCR is written ("broken pipe", nothing sent), and the counter retried only a
/// refused connection. Now it retries once on any dropped connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]

async fn an_idle_connection_closed_by_redis_does_not_trip_the_circuit() {
    let Some(server) = RedisServer::start_with(&["--timeout", "1"]) else {
        return;
    };
    let app = start_on(server.url(), Duration::from_secs(5)).await;
    let client = reqwest::Client::new();
    assert!(fresh(&visit(&client, &app).await));
    // Redis checks idle clients about every second: give it time to close ours.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let after_idle = visit(&client, &app).await;
    let count: u64 = redis::cmd("GET")
        .arg(examples::visits::KEY)
        .query(&mut server.connection())
        .unwrap();
    assert!(
        fresh(&after_idle),
        "Redis is healthy, yet the first visit after an idle period was not counted and opened \
         the circuit: {after_idle:?} (Redis holds {count})"
    );
    app.stop().await;
}

/// Once, after `maxclients` was reached (Redis accepts the connection, says so and closes it:
/// "connection reset"), the connection manager handed that cached failure to the first probe
/// once Redis had room again, and the circuit opened for another period. The same retry covers
/// it now.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]

async fn after_maxclients_clears_the_first_probe_counts_again() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let open_for = Duration::from_millis(800);
    let app = start_on(server.url(), open_for).await;
    let client = reqwest::Client::new();
    assert!(fresh(&visit(&client, &app).await));

    // Redis full: only this admin connection and the store's stay.
    let mut admin = server.connection();
    let id = counter_client_id(&mut admin);
    let _: () = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("ID")
        .arg(&id)
        .query(&mut admin)
        .unwrap();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxclients")
        .arg("2")
        .query(&mut admin)
        .unwrap();
    let failed = visit(&client, &app).await;
    assert!(failed.1.contains("stale"), "{failed:?}");
    // Let the circuit's open period pass and a probe fail while Redis is still full.
    tokio::time::sleep(open_for + Duration::from_millis(300)).await;
    // (The first request after the open period may answer stale while the probe token is
    // claimed, as the README says; the next one probes.)
    let mut probe_while_full = visit(&client, &app).await;
    for _ in 0..5 {
        if probe_while_full.1.contains("Redis failed") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        probe_while_full = visit(&client, &app).await;
    }
    assert!(
        probe_while_full.1.contains("Redis failed"),
        "{probe_while_full:?}"
    );
    // Let the ConnectionManager's reconnection attempts (one retry, backoff up to 1 s) finish.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // Room again.
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxclients")
        .arg("10000")
        .query(&mut admin)
        .unwrap();
    tokio::time::sleep(open_for).await;
    let answers = visit_until_fresh(&client, &app, open_for * 3).await;
    assert!(
        answers.iter().any(fresh) && !answers.iter().any(|a| a.1.contains("Redis failed")),
        "Redis has room again, yet the probe failed; answers until counting resumed: {answers:#?}"
    );
    app.stop().await;
}

/// Known, not fixed: `Running::stop` returns after the grace by aborting the serve task, but
/// axum runs each connection in a task of its own, which the abort does not reach: a client
/// that held a request open is still served after `stop()` returned, and the app lives on with
/// it until the client hangs up. The binary exits, so this only bites a program that embeds the
/// app (the tests, the load test). A fix would serve connections under stop's control
/// (hyper-util's graceful shutdown, or a set of connection tasks that `stop` aborts).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "review 2: a connection outlives stop() and is still served after it returned"]
async fn after_stop_returns_no_connection_is_served() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let app = start_on(server.url(), Duration::from_secs(5)).await;
    let addr = app.addr();
    let mut stuck = TcpStream::connect(addr).unwrap();
    stuck.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap(); // no blank line yet
    tokio::time::sleep(Duration::from_millis(100)).await;
    app.stop().await; // returns after the 500 ms grace
    tokio::time::sleep(Duration::from_millis(200)).await;

    // The client finishes its request now.
    let answer = tokio::task::spawn_blocking(move || {
        stuck
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        let _ = stuck.write_all(b"Connection: close\r\n\r\n");
        let mut answer = String::new();
        let _ = stuck.read_to_string(&mut answer);
        answer
    })
    .await
    .unwrap();
    assert!(
        answer.is_empty(),
        "stop() had returned, yet the app still answered a request: {answer:?}"
    );
}
