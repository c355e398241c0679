//! Slow, idle and half-open clients (issue 12) cannot hold the emulator: headers and bodies
//! have deadlines, idle keep-alive connections are closed, and open connections are capped.
//! No test measures time: the small limits only keep the run short, and `GUARD` only turns
//! a connection the server never closes into a failure instead of a hang.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test crate: its helpers, like its tests, fail the test by panicking"
)]

use hipkit_testkit::Emulator;
use serde_json::Value;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TOKEN: &str = "slow-clients-token";
const GUARD: Duration = Duration::from_secs(60);

async fn emulator(tls: bool) -> Emulator {
    hipkit_testkit::emulator()
        .token(TOKEN)
        .rooms(&["Slow"])
        .with(|c| {
            c.tls = tls;
            c.header_read_timeout_secs = 1;
            c.body_read_timeout_secs = 1;
            c.max_connections = 2;
        })
        .start()
        .await
}

/// Everything the server sends until it closes the connection (a reset counts as closed).
async fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let read_all = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(GUARD, read_all)
        .await
        .expect("the server closes the connection");
    String::from_utf8_lossy(&seen).into_owned()
}

#[tokio::test]
async fn half_open_connections_do_not_lock_out_a_normal_client() {
    let emu = emulator(false).await;
    let mut half_open = Vec::new();
    for _ in 0..8 {
        let mut stream = TcpStream::connect(emu.local_addr).await.unwrap();
        stream.write_all(b"GET").await.unwrap();
        half_open.push(stream);
    }
    let answered = tokio::time::timeout(
        GUARD,
        reqwest::get(format!("{}/v2/capabilities", emu.base_url)),
    )
    .await
    .expect("a normal client is answered")
    .unwrap();
    assert_eq!(answered.status(), 200);
    for stream in &mut half_open {
        let answer = read_until_closed(stream).await;
        assert!(!answer.contains("200 OK"), "{answer}");
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_by_the_server() {
    let emu = emulator(false).await;
    let mut stream = TcpStream::connect(emu.local_addr).await.unwrap();
    stream
        .write_all(
            format!(
                "GET /v2/capabilities HTTP/1.1\r\nHost: {}\r\n\r\n",
                emu.local_addr
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let answer = read_until_closed(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert!(
        !answer.to_ascii_lowercase().contains("connection: close"),
        "the request itself kept the connection alive: {answer}"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn a_body_that_stalls_midway_is_answered_408() {
    let emu = emulator(false).await;
    let mut stream = TcpStream::connect(emu.local_addr).await.unwrap();
    let head = format!(
        "POST /v2/room/Slow/notification HTTP/1.1\r\nHost: {}\r\n\
         Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n\
         Content-Length: 64\r\n\r\n{{\"message\": \"half",
        emu.local_addr
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let answer = read_until_closed(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    let envelope: Value = serde_json::from_str(body).unwrap();
    assert_eq!(envelope["error"]["code"], 408, "{envelope}");
    assert_eq!(envelope["error"]["type"], "Request Timeout");

    let (status, _, page) = emu
        .api()
        .call(reqwest::Method::GET, "/v2/room/Slow/history", None)
        .await;
    assert_eq!(status, 200, "the server keeps serving");
    assert_eq!(
        page["items"],
        serde_json::json!([]),
        "nothing half-sent was stored"
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn a_client_that_never_starts_its_tls_handshake_is_closed() {
    let emu = emulator(true).await;
    let mut silent = TcpStream::connect(emu.local_addr).await.unwrap();
    let answer = read_until_closed(&mut silent).await;
    assert!(answer.is_empty(), "{answer}");
    emu.shutdown().await;
}

#[tokio::test]
async fn event_streams_beyond_their_budget_end_the_oldest_and_api_calls_are_served() {
    let emu = hipkit_testkit::emulator()
        .token(TOKEN)
        .rooms(&["Slow"])
        .with(|c| {
            c.max_connections = 8;
            c.max_event_streams = 3;
        })
        .start()
        .await;
    let mut streams = Vec::new();
    for _ in 0..20 {
        // A client each, so every stream is its own connection, as browser tabs are.
        let open = async {
            let mut resp = reqwest::get(format!("{}/ui/events", emu.base_url))
                .await
                .unwrap();
            assert_eq!(resp.status(), 200);
            let hello = resp.chunk().await.unwrap().unwrap();
            assert!(String::from_utf8_lossy(&hello).contains("hello"));
            resp
        };
        streams.push(
            tokio::time::timeout(GUARD, open)
                .await
                .expect("a stream opens"),
        );
    }
    // The oldest stream was ended by the newer ones.
    let oldest = &mut streams[0];
    let ended = tokio::time::timeout(GUARD, async {
        while let Ok(Some(_)) = oldest.chunk().await {}
    })
    .await;
    assert!(ended.is_ok(), "the oldest stream was ended");
    let api = tokio::time::timeout(GUARD, emu.api().get("/v2/room"))
        .await
        .expect("an API call is served while streams are open");
    assert_eq!(api["items"][0]["name"], "Slow", "{api}");
    emu.shutdown().await;
}
