//! Regressions from the second review of the visits app: each test's comment says how the app
//! once failed (or, for the one ignored, how it still does), and what fixed it.

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
