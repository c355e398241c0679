//! The shared plumbing over loopback: capabilities' routers merged, token auth, envelopes for
//! every error, body limit, request timeout, health checks and metrics.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test crate: its helpers, like its tests, fail the test by panicking"
)]

use async_trait::async_trait;
use axum::Router;
use axum::routing::{get, post};
use hipkit_server::{
    BoundServer, HealthCheck, RequestDeadline, Routes, ScrapeHook, Server, ServerConfig, TimedBody,
};
use prometheus_client::metrics::counter::Counter;
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

struct Switch(AtomicBool);

#[async_trait]
impl HealthCheck for Switch {
    async fn check(&self) -> Result<(), String> {
        if self.0.load(Ordering::SeqCst) {
            Ok(())
        } else {
            Err("the disk is on fire".into())
        }
    }
}

struct Bump(Counter);

#[async_trait]
impl ScrapeHook for Bump {
    async fn refresh(&self) -> Result<(), String> {
        self.0.inc();
        Ok(())
    }
}

/// Starts a server with a public and a protected capability; returns its base URL.
async fn start(healthy: Arc<Switch>) -> String {
    let config = ServerConfig {
        listen: ([127, 0, 0, 1], 0).into(),
        api_token: Some(hipchat::Token::new("s3cret")),
        max_body_bytes: 16,
        request_timeout_secs: 1,
        ..ServerConfig::default()
    };
    let mut server = Server::new(config);
    let scrapes = Counter::default();
    server
        .registry()
        .register("test_scrapes", "Scrapes seen", scrapes.clone());
    let public = Router::new().route("/hooks/ping", get(|| async { "pong" }));
    let protected = Router::new()
        .route("/api/echo", post(|body: String| async move { body }))
        .route(
            "/api/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "late"
            }),
        );
    // A handler that answers by the deadline itself: the server must never cut it short.
    let self_timed = Router::new()
        .route(
            "/api/body",
            post(|TimedBody(body): TimedBody| async move { format!("{} bytes", body.len()) }),
        )
        .route(
            "/api/self-timed",
            get(|RequestDeadline(deadline): RequestDeadline| async move {
                tokio::time::sleep_until(deadline + Duration::from_millis(200)).await;
                "finished after the deadline, as the handler decided"
            }),
        );
    let bound = server
        .merge(public)
        .merge_protected(protected)
        .mount(Routes::protected(self_timed).timed_by_handler())
        .health_check("disk", healthy)
        .on_scrape(Arc::new(Bump(scrapes)))
        .bind()
        .await
        .expect("bind");
    serve_forever(bound)
}

/// Serves `bound` until the test ends; its base URL.
fn serve_forever(bound: BoundServer) -> String {
    let base = format!("http://{}", bound.local_addr());
    tokio::spawn(bound.serve(std::future::pending()));
    base
}

async fn envelope(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("a JSON envelope"))
}

#[tokio::test]
async fn capabilities_are_merged_behind_shared_auth_limits_and_envelopes() {
    let healthy = Arc::new(Switch(AtomicBool::new(true)));
    let base = start(healthy.clone()).await;
    let http = reqwest::Client::new();

    let pong = http.get(format!("{base}/hooks/ping")).send().await.unwrap();
    assert_eq!(
        pong.text().await.unwrap(),
        "pong",
        "public routes need no token"
    );

    let echo = |token: Option<&'static str>, body: String| {
        let mut req = http.post(format!("{base}/api/echo")).body(body);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        async move { req.send().await.unwrap() }
    };
    let (status, body) = envelope(echo(None, "hi".into()).await).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], 401);
    assert_eq!(echo(Some("s3creT"), "hi".into()).await.status(), 401);
    let echoed = echo(Some("s3cret"), "hi".into()).await;
    assert_eq!(echoed.text().await.unwrap(), "hi");
    let (status, body) = envelope(echo(Some("s3cret"), "x".repeat(17)).await).await;
    assert_eq!((status, body["error"]["code"].as_u64()), (413, Some(413)));

    let (status, body) = envelope(
        http.get(format!("{base}/api/slow"))
            .bearer_auth("s3cret")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 503);
    assert_eq!(body["error"]["message"], "the request timed out");

    let own = http
        .get(format!("{base}/api/self-timed"))
        .bearer_auth("s3cret")
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 200);
    let sized = http
        .post(format!("{base}/api/body"))
        .bearer_auth("s3cret")
        .body("0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(sized.text().await.unwrap(), "10 bytes");
    let (status, _) = envelope(
        http.post(format!("{base}/api/body"))
            .bearer_auth("s3cret")
            .body("x".repeat(17))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        status, 413,
        "the server's body limit holds for timed bodies"
    );
    // A stalled timed body is a 408: tests/plumbing.rs.
    let unauthorized = http
        .get(format!("{base}/api/self-timed"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        unauthorized.status(),
        401,
        "self-timed routes keep their protection"
    );

    let (status, body) = envelope(http.get(format!("{base}/nowhere")).send().await.unwrap()).await;
    assert_eq!(
        (status, body["error"]["type"].as_str()),
        (404, Some("Not Found"))
    );
    let not_allowed = http
        .delete(format!("{base}/hooks/ping"))
        .send()
        .await
        .unwrap();
    let allow = not_allowed.headers().get("allow").cloned();
    let (status, _) = envelope(not_allowed).await;
    assert_eq!(status, 405);
    assert!(allow.is_some_and(|a| a.to_str().unwrap().contains("GET")));

    let health = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    healthy.0.store(false, Ordering::SeqCst);
    let (status, body) = envelope(http.get(format!("{base}/healthz")).send().await.unwrap()).await;
    assert_eq!(status, 503);
    assert_eq!(body["error"]["message"], "disk: the disk is on fire");

    let metrics = |http: reqwest::Client| async move {
        http.get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let text = metrics(http.clone()).await;
    assert!(text.contains("test_scrapes_total 1"), "{text}");
}

/// A server whose clients get one second for their headers and share four connections.
async fn start_strict() -> String {
    let config = ServerConfig {
        listen: ([127, 0, 0, 1], 0).into(),
        header_read_timeout_secs: 1,
        max_connections: 4,
        ..ServerConfig::default()
    };
    let bound = Server::new(config)
        .merge(Router::new().route("/hooks/ping", get(|| async { "pong" })))
        .bind()
        .await
        .expect("bind");
    serve_forever(bound)
}

#[tokio::test]
async fn slow_and_idle_clients_cannot_lock_others_out() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let base = start_strict().await;
    let addr = base.trim_start_matches("http://").to_owned();
    // Slowloris: far more half-open requests than the server has connection slots.
    let mut attackers = Vec::new();
    for _ in 0..12 {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        s.write_all(b"GET /hooks/ping HTTP/1.1\r\n").await.unwrap();
        attackers.push(s);
    }
    let answer = reqwest::get(format!("{base}/hooks/ping"))
        .await
        .expect("a normal client is served while the attack runs");
    assert_eq!(answer.text().await.unwrap(), "pong");
    // A connection that never sends anything is closed by the server.
    let mut idle = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let mut buf = [0u8; 512];
    let read = tokio::time::timeout(Duration::from_secs(30), idle.read(&mut buf))
        .await
        .expect("the idle connection was closed");
    match read {
        Ok(n) => assert!(
            n == 0 || buf.starts_with(b"HTTP/1.1 408"),
            "unexpected answer: {:?}",
            String::from_utf8_lossy(&buf[..n])
        ),
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset),
    }
    drop(attackers);
}

#[tokio::test]
async fn settings_that_switch_protections_off_are_refused() {
    let empty_token = ServerConfig {
        api_token: Some(hipchat::Token::new("")),
        listen: ([127, 0, 0, 1], 0).into(),
        ..ServerConfig::default()
    };
    let zero = ServerConfig {
        request_timeout_secs: 0,
        listen: ([127, 0, 0, 1], 0).into(),
        ..ServerConfig::default()
    };
    for (config, named) in [
        (empty_token, "api_token is empty"),
        (zero, "request_timeout_secs"),
    ] {
        let err = Server::new(config)
            .bind()
            .await
            .expect_err("a setting that switches a protection off was accepted");
        assert!(err.to_string().contains(named), "{err}");
    }
}
