//! The visits app end to end: a real redis-server, the app on a loopback port, real HTTP.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use examples::visits::{self, Config, Running};
use tests::redis_server::RedisServer;

/// Redis commands give up after this; a request that waited on Redis takes at least this long.
const REDIS_TIMEOUT: Duration = Duration::from_millis(250);

/// An answer to `GET /`.
#[derive(Debug)]
struct Answer {
    status: u16,
    stale: bool,
    retry_after: Option<String>,
    body: String,
    took: Duration,
}

impl Answer {
    /// The count in the body, fresh or stale.
    fn count(&self) -> u64 {
        let rest = self
            .body
            .split("visited ")
            .nth(1)
            .expect("a count in the body");
        rest.split(' ').next().unwrap().parse().expect("a number")
    }
}

async fn get(client: &reqwest::Client, app: &Running, path: &str) -> reqwest::Response {
    client
        .get(format!("http://{}{path}", app.addr()))
        .send()
        .await
        .expect("the app answers")
}

async fn visit(client: &reqwest::Client, app: &Running) -> Answer {
    let started = Instant::now();
    let response = get(client, app, "/").await;
    let status = response.status().as_u16();
    let stale = response.headers().get("x-stale").is_some();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.text().await.unwrap();
    Answer {
        status,
        stale,
        retry_after,
        body,
        took: started.elapsed(),
    }
}

async fn health(client: &reqwest::Client, app: &Running) -> serde_json::Value {
    let body = get(client, app, "/health").await.text().await.unwrap();
    serde_json::from_str(&body).expect("/health answers JSON")
}

fn circuit_state(health: &serde_json::Value) -> &str {
    health["circuits"][0]["state"].as_str().unwrap()
}

async fn start(server: &RedisServer, open_for: Duration) -> Running {
    let mut config = Config::new(server.url());
    config.addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    config.redis_timeout = REDIS_TIMEOUT;
    config.open_for = open_for;
    visits::start(config).await.expect("the app starts")
}

/// Polls `visit` until an answer satisfies `done`, for at most `limit`; returns every answer.
async fn visit_until(
    client: &reqwest::Client,
    app: &Running,
    limit: Duration,
    done: impl Fn(&Answer) -> bool,
) -> Vec<Answer> {
    let deadline = Instant::now() + limit;
    let mut answers = Vec::new();
    loop {
        let answer = visit(client, app).await;
        let finished = done(&answer);
        answers.push(answer);
        if finished {
            return answers;
        }
        assert!(
            Instant::now() < deadline,
            "no answer as wanted within {limit:?}: {answers:#?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn redis_count(server: &RedisServer) -> u64 {
    redis::cmd("GET")
        .arg(visits::KEY)
        .query(&mut server.connection())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_serves_stale_counts_fast_and_resume_heals_without_losing_a_count() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let open_for = Duration::from_secs(1);
    let app = start(&server, open_for).await;
    let client = reqwest::Client::new();
    let mut counted = Vec::new();

    for n in 1..=3 {
        let answer = visit(&client, &app).await;
        assert_eq!((answer.status, answer.stale), (200, false), "{answer:?}");
        assert_eq!(answer.count(), n);
        counted.push(answer.count());
    }
    assert_eq!(circuit_state(&health(&client, &app).await), "closed");

    server.pause();
    let first = visit(&client, &app).await;
    assert_eq!((first.status, first.stale), (200, true), "{first:?}");
    assert!(
        first.body.contains("stale") && first.body.contains("timed out"),
        "{first:?}"
    );
    assert_eq!(first.count(), 3, "the last count seen");
    assert!(
        first.took >= REDIS_TIMEOUT,
        "the first request waits on Redis: {first:?}"
    );

    for _ in 0..20 {
        let answer = visit(&client, &app).await;
        assert_eq!(
            (answer.status, answer.stale, answer.count()),
            (200, true, 3),
            "{answer:?}"
        );
        assert!(answer.body.contains("circuit open"), "{answer:?}");
        assert!(
            answer.took < Duration::from_millis(50),
            "refused at once: {answer:?}"
        );
    }
    let during = health(&client, &app).await;
    assert_eq!(circuit_state(&during), "open");
    assert_eq!(during["status"], "degraded");
    assert!(
        during["last_failure"]
            .as_str()
            .unwrap()
            .contains("timed out"),
        "{during}"
    );
    let metrics = get(&client, &app, "/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains(r#"failfast_circuit_state{circuit="redis",state="open"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"failfast_rejections_total{circuit="redis"} 20"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"visits_answers_total{answer="stale"} 21"#),
        "{metrics}"
    );

    server.resume();
    let resumed = Instant::now();
    let answers = visit_until(&client, &app, open_for + Duration::from_secs(5), |a| {
        !a.stale
    })
    .await;
    let fresh = answers.last().unwrap();
    assert_eq!(fresh.status, 200, "{fresh:?}");
    assert!(
        resumed.elapsed() < open_for + REDIS_TIMEOUT + Duration::from_secs(1),
        "counting resumes within the open period and a probe: {:?}",
        resumed.elapsed()
    );
    counted.push(fresh.count());
    for _ in 0..3 {
        let answer = visit(&client, &app).await;
        assert_eq!((answer.status, answer.stale), (200, false), "{answer:?}");
        counted.push(answer.count());
    }
    let after = health(&client, &app).await;
    assert_eq!(circuit_state(&after), "closed");
    assert_eq!(
        (&after["status"], &after["last_failure"]),
        (&"ok".into(), &serde_json::Value::Null)
    );

    // Every count reported as fresh was a distinct increment, and Redis kept them all: its
    // count is the last one reported (the increment that timed out during the pause was applied
    // when Redis resumed, so it is there too, though no one was told).
    assert!(counted.windows(2).all(|w| w[0] < w[1]), "{counted:?}");
    assert_eq!(redis_count(&server), *counted.last().unwrap());
    assert_eq!(counted.len(), 3 + 1 + 3);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn before_any_count_was_seen_an_outage_answers_503_with_retry_after() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let app = start(&server, Duration::from_secs(30)).await;
    let client = reqwest::Client::new();
    server.pause();
    let first = visit(&client, &app).await;
    assert_eq!((first.status, first.stale), (503, false), "{first:?}");
    assert!(first.body.contains("unavailable"), "{first:?}");
    let refused = visit(&client, &app).await;
    assert_eq!(refused.status, 503, "{refused:?}");
    let retry_after: u64 = refused.retry_after.as_deref().unwrap().parse().unwrap();
    assert_eq!(retry_after, 30, "whole seconds, rounded up: {refused:?}");
    server.resume();
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_in_the_data_is_a_500_and_does_not_open_the_circuit() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let app = start(&server, Duration::from_secs(30)).await;
    let client = reqwest::Client::new();
    let _: () = redis::cmd("SET")
        .arg(visits::KEY)
        .arg("not a number")
        .query(&mut server.connection())
        .unwrap();
    for _ in 0..3 {
        let answer = visit(&client, &app).await;
        assert_eq!(answer.status, 500, "{answer:?}");
        assert!(answer.body.contains("not counted"), "{answer:?}");
    }
    assert_eq!(circuit_state(&health(&client, &app).await), "closed");
    let _: () = redis::cmd("DEL")
        .arg(visits::KEY)
        .query(&mut server.connection())
        .unwrap();
    assert_eq!(visit(&client, &app).await.count(), 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_the_circuit_through_redis() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let open_for = Duration::from_secs(30);
    let first = start(&server, open_for).await;
    let second = start(&server, open_for).await;
    let client = reqwest::Client::new();
    assert_eq!(visit(&client, &first).await.count(), 1);
    assert_eq!(visit(&client, &second).await.count(), 2);

    // Only the first instance sees Redis fail.
    server.pause();
    let failed = visit(&client, &first).await;
    assert!(failed.stale && failed.took >= REDIS_TIMEOUT, "{failed:?}");
    server.resume();

    // The second never saw a failure, yet once the trip reaches it through Redis it stops
    // calling Redis too, though Redis answers again.
    let deadline = Instant::now() + Duration::from_secs(5);
    while circuit_state(&health(&client, &second).await) != "open" {
        assert!(
            Instant::now() < deadline,
            "the trip did not reach the second instance"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let count_before = redis_count(&server);
    let refused = visit(&client, &second).await;
    assert_eq!((refused.status, refused.stale), (200, true), "{refused:?}");
    assert!(refused.body.contains("circuit open"), "{refused:?}");
    assert_eq!(redis_count(&server), count_before, "Redis was not asked");
    let stats = second.breaker().stats();
    assert_eq!((stats.failures, stats.rejected), (0, 1), "{stats:?}");
    first.stop().await;
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_breaker_every_visit_waits_and_health_still_says_degraded() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let mut config = Config::new(server.url());
    config.addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    config.redis_timeout = REDIS_TIMEOUT;
    config.breaker = false;
    let app = visits::start(config).await.expect("the app starts");
    let client = reqwest::Client::new();
    assert_eq!(visit(&client, &app).await.count(), 1);
    server.pause();
    for _ in 0..3 {
        let answer = visit(&client, &app).await;
        assert!(answer.stale && answer.took >= REDIS_TIMEOUT, "{answer:?}");
    }
    let during = health(&client, &app).await;
    assert_eq!(during["status"], "degraded", "{during}");
    assert_eq!(during["circuits"][0]["enabled"], false, "{during}");
    server.resume();
    app.stop().await;
}
