//! The plumbing `hipkit serve` and the emulator share, over loopback: the authorization
//! scheme in any case, the envelope keeping an error's headers and naming a refused method,
//! the 408 that closes its connection, and a handler closing its connection unanswered.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test crate: its helpers, like its tests, fail the test by panicking"
)]

use axum::http::{StatusCode, header};
use axum::routing::{get, post};
use axum::{Extension, Router};
use hipkit_server::{
    CloseConnection, Connections, Routes, Server, ServerConfig, TimedBody, serve_connections,
};
use serde_json::Value;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Only turns a connection the server never closes into a failure instead of a hang.
const GUARD: Duration = Duration::from_secs(60);

async fn start(routes: impl FnOnce(Server) -> Server) -> String {
    let config = ServerConfig {
        listen: ([127, 0, 0, 1], 0).into(),
        api_token: Some(hipchat::Token::new("s3cret")),
        request_timeout_secs: 1,
        ..ServerConfig::default()
    };
    let bound = routes(Server::new(config)).bind().await.expect("bind");
    let base = format!("http://{}", bound.local_addr());
    tokio::spawn(bound.serve(std::future::pending()));
    base
}

/// Everything the server sends until it closes the connection (a reset counts as closed).
async fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut seen = Vec::new();
    // An error (a reset) ends the read like a close; what came before it is kept.
    let _ = tokio::time::timeout(GUARD, stream.read_to_end(&mut seen))
        .await
        .expect("the server closes the connection");
    String::from_utf8_lossy(&seen).into_owned()
}

#[tokio::test]
async fn the_bearer_scheme_is_matched_in_any_case() {
    let base =
        start(|s| s.merge_protected(Router::new().route("/api/ping", get(|| async { "pong" }))))
            .await;
    let http = reqwest::Client::new();
    let call = |value: &'static str| {
        http.get(format!("{base}/api/ping"))
            .header(header::AUTHORIZATION, value)
            .send()
    };
    for value in [
        "Bearer s3cret",
        "bearer s3cret",
        "BEARER  s3cret ",
        "bEaReR\ts3cret",
    ] {
        assert_eq!(call(value).await.unwrap().status(), 200, "{value:?}");
    }
    for value in ["Bearer s3cre", "Basic s3cret", "s3cret", "Bearer"] {
        assert_eq!(call(value).await.unwrap().status(), 401, "{value:?}");
    }
}

#[tokio::test]
async fn the_envelope_keeps_the_headers_and_names_a_refused_method() {
    let busy = || async {
        (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "3")],
            "slow down",
        )
    };
    let base = start(|s| s.merge(Router::new().route("/hooks/busy", get(busy)))).await;
    let http = reqwest::Client::new();
    let answer = http.get(format!("{base}/hooks/busy")).send().await.unwrap();
    assert_eq!(answer.status(), 429);
    assert_eq!(answer.headers()[header::RETRY_AFTER], "3");
    let body: Value = answer.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({"error": {"code": 429, "type": "Too Many Requests", "message": "slow down"}})
    );

    let refused = http
        .delete(format!("{base}/hooks/busy"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 405);
    let allow = refused.headers()[header::ALLOW]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(allow.contains("GET"), "{allow}");
    let body: Value = refused.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("DELETE"), "{body}");
}

#[tokio::test]
async fn a_late_body_is_answered_408_and_its_connection_closed() {
    let timed = Router::new().route(
        "/api/body",
        post(|TimedBody(body): TimedBody| async move { format!("{} bytes", body.len()) }),
    );
    let base = start(|s| s.mount(Routes::protected(timed).timed_by_handler())).await;
    let mut stream = TcpStream::connect(base.trim_start_matches("http://"))
        .await
        .unwrap();
    let head = format!(
        "POST /api/body HTTP/1.1\r\nHost: {}\r\nAuthorization: bearer s3cret\r\n\
         Content-Length: 100\r\n\r\nonly ten b",
        base.trim_start_matches("http://")
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let answer = read_until_closed(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    let body: Value = serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body["error"]["code"], 408, "{body}");
}

#[tokio::test]
async fn a_handler_can_close_its_connection_unanswered() {
    let app = Router::new()
        .route(
            "/drop",
            get(
                |Extension(connection): Extension<CloseConnection>| async move {
                    connection.close();
                    std::future::pending::<&'static str>().await
                },
            ),
        )
        .route("/ok", get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Connections {
        header_read_timeout: Duration::from_secs(5),
        max_connections: 4,
        tls: None,
        allowed_hosts: Default::default(),
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(serve_connections(listener, app, connections, async {
        let _ = stopped.await;
    }));

    let mut dropped = TcpStream::connect(addr).await.unwrap();
    dropped
        .write_all(format!("GET /drop HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    assert_eq!(read_until_closed(&mut dropped).await, "");
    let ok = reqwest::get(format!("http://{addr}/ok")).await.unwrap();
    assert_eq!(ok.text().await.unwrap(), "ok", "the server keeps serving");

    let _ = stop.send(());
    tokio::time::timeout(GUARD, serving)
        .await
        .expect("serving ends on shutdown")
        .unwrap();
}
