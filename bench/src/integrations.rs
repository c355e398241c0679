//! Issue 9's numbers: slash-command webhooks from 8 clients, a Python integration that appends
//! the query to its storage (the seed's own benchmark shape), through `hipkit integrations`
//! beside `seed_baseline.py` (what the seed does per request) in the same run; an executable
//! integration's rate; and the intake path (the built-in `/ping`) beside a bare hyper server.

use crate::process::{Spawned, spawn_with_env};
use anyhow::{Context, Result, anyhow, bail};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CLIENTS: usize = 8;

const APPEND: &str = "def run_integration(notification, query, all_tokens, token, storage, log):\n    \
                      storage[len(storage)] = query\n";
const NOOP: &str = "def run_integration(notification, query, all_tokens, token, storage, log):\n    \
                    pass\n";
const APPEND_SH: &str = "#!/bin/sh\ncat >/dev/null\n";

/// A webhook body carrying `message`.
fn webhook(message: &str) -> String {
    serde_json::json!({
        "event": "room_message",
        "item": {"message": {"date": "2026-12-02T10:11:12+00:00", "id": "m", "type": "message",
                             "message": message, "mentions": [],
                             "from": {"id": 1, "links": {}, "mention_name": "bench",
                                      "name": "Bench", "version": "1"}},
                 "room": {"id": 1, "is_archived": false, "links": {}, "name": "Bench",
                          "privacy": "public", "version": "1"}},
        "oauth_client_id": "bench",
        "webhook_id": 1
    })
    .to_string()
}

/// Rate (per second) and p99 (ms) of POSTing `body` to `url` from [`CLIENTS`] loops.
async fn measure(
    url: &str,
    body: String,
    seconds: f64,
    fresh_connections: bool,
) -> Result<(f64, f64)> {
    let mut builder = reqwest::Client::builder();
    if fresh_connections {
        // HTTP/1.0 servers close every connection; so does the load generator.
        builder = builder.pool_max_idle_per_host(0);
    }
    let http = builder.build()?;
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let (http, url, body, latencies) = (
            http.clone(),
            url.to_owned(),
            body.clone(),
            latencies.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while Instant::now() < deadline {
                let t = Instant::now();
                let resp = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await?;
                if !resp.status().is_success() {
                    bail!("status {}", resp.status());
                }
                resp.bytes().await?;
                mine.push(t.elapsed());
            }
            latencies
                .lock()
                .map_err(|_| anyhow!("poisoned"))?
                .extend(mine);
            Ok::<_, anyhow::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut all = std::mem::take(&mut *latencies.lock().map_err(|_| anyhow!("poisoned"))?);
    all.sort();
    let p99 = all
        .get(all.len().saturating_sub(1) * 99 / 100)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(f64::NAN);
    Ok((all.len() as f64 / elapsed, p99))
}

/// A child killed on drop.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `seed_baseline.py DIR LOGFILE`; returns it and its URL.
fn seed_baseline(dir: &Path, log: &Path) -> Result<(Killed, String)> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/seed_baseline.py");
    let mut child = Command::new("python3")
        .arg(script)
        .arg(dir)
        .arg(log)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("python3 seed_baseline.py")?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().context("stdout")?).read_line(&mut line)?;
    let port: u16 = line.trim().parse().context("baseline port")?;
    Ok((Killed(child), format!("http://127.0.0.1:{port}/")))
}

/// Starts this binary's bare hyper server (`hipkit-bench hello`); returns it and its URL.
fn hello_server() -> Result<(Killed, String)> {
    let mut child = Command::new(std::env::current_exe()?)
        .arg("hello")
        .stdout(Stdio::piped())
        .spawn()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().context("stdout")?).read_line(&mut line)?;
    Ok((Killed(child), line.trim().to_owned()))
}

/// `hipkit-bench hello`: a bare hyper HTTP/1 server answering every request 200 "Hello".
pub async fn serve_hello() -> Result<()> {
    use hyper::service::service_fn;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("http://{}/", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(async move {
            let service = service_fn(|_req| async {
                Ok::<_, std::convert::Infallible>(hyper::Response::new(http_body_util::Full::new(
                    bytes::Bytes::from_static(b"Hello"),
                )))
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

fn integrations(hipkit: &Path, dir: &Path, store: &Path) -> Result<Spawned> {
    spawn_with_env(
        hipkit,
        &["integrations", "0", dir.to_str().context("dir")?],
        &[
            ("HIPKIT_STORE", store.to_str().context("store")?),
            ("HIPKIT_LOG", "error"),
            ("HIPKIT_INTEGRATIONS__CONCURRENCY", "8"),
        ],
    )
}

/// Runs the measurement and returns the markdown report.
pub async fn run(hipkit: &Path, seconds: f64) -> Result<String> {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("append.py"), APPEND)?;
    std::fs::write(dir.path().join("noop.py"), NOOP)?;
    let sh = dir.path().join("appendsh");
    std::fs::write(&sh, APPEND_SH)?;
    std::fs::set_permissions(&sh, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    let query = webhook("/append bench query");

    let seed_log = tempfile::NamedTempFile::new()?;
    let (_seed, seed_url) = seed_baseline(dir.path(), seed_log.path())?;
    let (seed_rate, seed_p99) = measure(&seed_url, query.clone(), seconds, true).await?;
    drop(_seed);

    // The store lives outside the watched folder, as a deployment keeps it (its writes
    // would otherwise wake the folder watcher at every commit).
    let data = tempfile::tempdir()?;
    let serve = integrations(hipkit, dir.path(), &data.path().join("bench.db"))?;
    let hook = format!("{}/hooks/hipchat", serve.base);
    // Warm the host (its first call starts Python).
    measure(&hook, query.clone(), 0.2, false).await?;
    let (py_rate, py_p99) = measure(&hook, query, seconds, false).await?;
    measure(&hook, webhook("/noop"), 0.2, false).await?;
    let (noop_rate, noop_p99) = measure(&hook, webhook("/noop"), seconds, false).await?;
    let (sh_rate, sh_p99) = measure(&hook, webhook("/appendsh q"), seconds, false).await?;
    let (ping_rate, ping_p99) = measure(&hook, webhook("/ping"), seconds, false).await?;
    drop(serve);

    let (_hello, hello_url) = hello_server()?;
    let (hello_rate, hello_p99) = measure(&hello_url, webhook("/ping"), seconds, false).await?;

    Ok(format!(
        "## Slash-command integrations (issue 9)\n\n\
         One run, {seconds} s per phase, {CLIENTS} clients over loopback, each sending \
         `room_message` webhooks one after another. The Python integration appends the query \
         to its storage (`storage[len(storage)] = query`); hipkit persists every call's change \
         to SQLite before answering. The seed baseline is `bench/seed_baseline.py`: what the \
         seed server does per request (single-threaded `http.server`, the integration file \
         re-imported per request, run in a new thread), answering 204 (the seed never \
         answered); for reference, the seed itself ran 958 integrations/s on this machine.\n\n\
         | measurement | requests/s | p99 | ratio | target |\n|---|---|---|---|---|\n\
         | seed baseline, Python integration | {seed_rate:.0} | {seed_p99:.1} ms | 1.00x | — |\n\
         | `hipkit integrations`, same Python integration (warm host) | {py_rate:.0} | {py_p99:.1} ms | {:.1}x | ≥ 10x, p99 ≤ 10 ms |\n\
         | `hipkit integrations`, a Python integration that does nothing (no storage write) | {noop_rate:.0} | {noop_p99:.1} ms | {:.1}x | — |\n\
         | `hipkit integrations`, executable integration (`/bin/sh`, a process per call) | {sh_rate:.0} | {sh_p99:.1} ms | {:.1}x | reported |\n\
         | bare hyper hello-world server | {hello_rate:.0} | {hello_p99:.1} ms | 1.00x | — |\n\
         | `hipkit integrations` intake, built-in `/ping` (parse, route, reply) | {ping_rate:.0} | {ping_p99:.1} ms | {:.2}x of hyper | ≥ 0.50x |\n",
        py_rate / seed_rate,
        noop_rate / seed_rate,
        sh_rate / seed_rate,
        ping_rate / hello_rate,
    ))
}
