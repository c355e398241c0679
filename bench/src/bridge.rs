//! Issue 22's numbers: HipChat API calls accepted per second by the bridge beside the send
//! API on the same `hipkit serve`, and accept → destination latency with an idle queue. Both
//! deliver to one loopback receiver in this process that answers at once: the bridge's room
//! to a `webhook` destination (`POST /hook`), the send API through `HIPCHAT_ENDPOINT`
//! (`POST /v2/room/Bench/notification`).

use crate::client::{ROOM, TOKEN};
use crate::load::{post_rate_counted, poster};
use crate::process::{NO_SEND_LIMITS, Spawned, percentile_ms, spawn_reading};
use anyhow::{Context, Result, anyhow, bail};
use axum::http::{StatusCode, Uri};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// The token old tools present to the bridge.
const BRIDGE_TOKEN: &str = "bench-bridge-token";

/// Sequential calls of the latency phase.
const CALLS: usize = 200;

/// Longest wait for a backlog to reach the receiver.
const DRAIN_LIMIT: Duration = Duration::from_secs(600);

/// Which of the two senders a request at the receiver came from.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Source {
    /// The bridge's webhook destination.
    Bridge,
    /// The send API's HipChat delivery.
    Send,
}

/// The loopback receiver: counts requests per sender and reports each arrival's time.
struct Receiver {
    base: String,
    bridge: Arc<AtomicU64>,
    send: Arc<AtomicU64>,
    arrivals: mpsc::UnboundedReceiver<(Source, Instant)>,
}

impl Receiver {
    /// Binds a free loopback port and serves until the process ends.
    async fn start() -> Result<Self> {
        let bridge = Arc::new(AtomicU64::new(0));
        let send = Arc::new(AtomicU64::new(0));
        let (tx, arrivals) = mpsc::unbounded_channel();
        let (b, s) = (bridge.clone(), send.clone());
        let app = axum::Router::new().fallback(move |uri: Uri| {
            let (b, s, tx) = (b.clone(), s.clone(), tx.clone());
            async move {
                let from = if uri.path() == "/hook" {
                    b.fetch_add(1, Ordering::Relaxed);
                    Source::Bridge
                } else {
                    s.fetch_add(1, Ordering::Relaxed);
                    Source::Send
                };
                let _ = tx.send((from, Instant::now()));
                StatusCode::NO_CONTENT
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Self {
            base,
            bridge,
            send,
            arrivals,
        })
    }

    fn count(&self, from: Source) -> u64 {
        match from {
            Source::Bridge => self.bridge.load(Ordering::Relaxed),
            Source::Send => self.send.load(Ordering::Relaxed),
        }
    }

    /// Waits until `from` has delivered `count` requests in all, then forgets the arrivals
    /// reported so far.
    async fn drained(&mut self, from: Source, count: u64) -> Result<()> {
        let started = Instant::now();
        while self.count(from) < count {
            if started.elapsed() > DRAIN_LIMIT {
                bail!(
                    "{from:?}: {} of {count} delivered after {DRAIN_LIMIT:?}",
                    self.count(from)
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        while self.arrivals.try_recv().is_ok() {}
        Ok(())
    }

    /// The next arrival from `from`.
    async fn next(&mut self, from: Source) -> Result<Instant> {
        loop {
            let (seen, at) = tokio::time::timeout(Duration::from_secs(10), self.arrivals.recv())
                .await
                .map_err(|_| anyhow!("{from:?}: nothing delivered within 10 s"))?
                .context("receiver stopped")?;
            if seen == from {
                return Ok(at);
            }
        }
    }
}

/// `hipkit serve` (SQLite outbox) with the send API delivering to the receiver and a
/// `[bridge]` whose room `Bench` goes to one webhook destination at the receiver; answers
/// the process and the bridge's base URL.
fn serve(hipkit: &Path, dir: &Path, receiver: &str) -> Result<(Spawned, String)> {
    let config = dir.join("hipkit.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[bridge]
listen = "127.0.0.1:0"
tokens = [{{ token = "{BRIDGE_TOKEN}", scopes = ["send_notification"] }}]

[[bridge.rooms]]
name = "{ROOM}"
to = ["bench-hook"]

[[bridge.destinations]]
name = "bench-hook"
kind = "webhook"
url = "{receiver}/hook"
template = '{{"text": {{{{ text|tojson }}}}}}'
"#
        ),
    )?;
    let store = dir.join("bridge.db");
    let (spawned, lines) = spawn_reading(
        hipkit,
        &["serve", "--listen", "127.0.0.1:0"],
        &[
            ("HIPKIT_CONFIG", config.to_str().context("config path")?),
            ("HIPKIT_STORE", store.to_str().context("store path")?),
            ("HIPCHAT_ENDPOINT", receiver),
            ("HIPCHAT_API_TOKEN", TOKEN),
            NO_SEND_LIMITS[0],
            NO_SEND_LIMITS[1],
        ],
        |l| l.trim().starts_with("delivery:"),
    )?;
    let bridge = lines
        .iter()
        .find(|l| l.trim().starts_with("bridge:"))
        .and_then(|l| l.split_whitespace().find(|w| w.starts_with("http://")))
        .ok_or_else(|| anyhow!("no bridge: line in {lines:?}"))?
        .to_owned();
    Ok((spawned, bridge))
}

/// The send API's request: URL, bearer, body.
fn send_api(base: &str) -> (String, Option<&'static str>, String) {
    let body = format!(r#"{{"room":"{ROOM}","message":"bridge bench","color":"green"}}"#);
    (format!("{base}/api/v1/messages"), None, body)
}

/// The bridge's request (a HipChat v2 room notification): URL, bearer, body.
fn bridge_api(bridge: &str) -> (String, Option<&'static str>, String) {
    let body = r#"{"message":"bridge bench","color":"green","notify":false}"#.to_owned();
    (
        format!("{bridge}/v2/room/{ROOM}/notification"),
        Some(BRIDGE_TOKEN),
        body,
    )
}

/// One throughput phase: accepted calls per second (64 in flight), then waits until all of
/// them reached the receiver so the next phase starts with an idle queue.
async fn accepted_rate(
    receiver: &mut Receiver,
    from: Source,
    request: &(String, Option<&str>, String),
    seconds: f64,
) -> Result<f64> {
    let before = receiver.count(from);
    let (rate, count) = post_rate_counted(&request.0, request.1, &request.2, seconds).await?;
    receiver.drained(from, before + count).await?;
    Ok(rate)
}

/// `CALLS` sequential calls, each waited for at the receiver: p50 and p99 of accept →
/// receiver, in milliseconds.
async fn latency(
    receiver: &mut Receiver,
    from: Source,
    request: &(String, Option<&str>, String),
) -> Result<(f64, f64)> {
    let post = poster(&request.0, request.1, &request.2)?;
    let mut samples = Vec::with_capacity(CALLS);
    for _ in 0..CALLS {
        let sent = Instant::now();
        post().await?;
        let arrived = receiver.next(from).await?;
        samples.push(arrived.saturating_duration_since(sent));
    }
    Ok((
        percentile_ms(samples.clone(), 50),
        percentile_ms(samples, 99),
    ))
}

/// Runs every measurement and returns the markdown report.
pub async fn run(hipkit: &Path, seconds: f64) -> Result<String> {
    let mut receiver = Receiver::start().await?;
    let dir = tempfile::tempdir()?;
    let (server, bridge) = serve(hipkit, dir.path(), &receiver.base)?;
    let send = send_api(&server.base);
    let hipchat = bridge_api(&bridge);

    // Two rounds, alternating, each ratio against the send API measured just before it.
    let mut rounds = Vec::new();
    for _ in 0..2 {
        let base = accepted_rate(&mut receiver, Source::Send, &send, seconds).await?;
        let calls = accepted_rate(&mut receiver, Source::Bridge, &hipchat, seconds).await?;
        rounds.push((base, calls));
    }
    let (send_p50, send_p99) = latency(&mut receiver, Source::Send, &send).await?;
    let (bridge_p50, bridge_p99) = latency(&mut receiver, Source::Bridge, &hipchat).await?;
    drop(server);

    let rows: String = rounds
        .iter()
        .enumerate()
        .map(|(n, (base, calls))| {
            format!(
                "| {} | {base:.0} messages/s | {calls:.0} calls/s | {:.2}x | ≥ 0.5x |\n",
                n + 1,
                calls / base
            )
        })
        .collect();
    Ok(format!(
        "## The bridge (issue 22)\n\n\
         One release `hipkit serve` (SQLite outbox, `synchronous=FULL`, batched commits) with a \
         `[bridge]` whose room `{ROOM}` goes to one `webhook` destination; the send API's \
         deliveries (`HIPCHAT_ENDPOINT`) and the webhook both reach one loopback receiver in the \
         load generator that answers 204 at once. Throughput: 64 requests in flight for {seconds} s \
         per phase, deliveries running, and the queue drained to the receiver before the next \
         phase; the two alternate, each ratio against the send API phase just before it.\n\n\
         | round | `POST /api/v1/messages` (baseline) | HipChat v2 room notification to the bridge | ratio | target |\n\
         |---|---|---|---|---|\n\
         {rows}\n\
         Accept → receiver with an idle queue ({CALLS} sequential calls, each waited for at the \
         receiver before the next):\n\n\
         | path | p50 | p99 | target |\n|---|---|---|---|\n\
         | send API → HipChat endpoint (baseline) | {send_p50:.1} ms | {send_p99:.1} ms | — |\n\
         | bridge → webhook destination | {bridge_p50:.1} ms | {bridge_p99:.1} ms | p99 ≤ 50 ms |\n"
    ))
}
