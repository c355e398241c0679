//! Issue 9's numbers: slash-command webhooks from 8 clients, a Python integration that appends
//! the query to its storage (the seed's own benchmark shape), through `hipkit integrations`
//! beside `seed_baseline.py` (what the seed does per request) in the same run; an executable
//! integration's rate; and the intake path (the built-in `/ping`) beside a bare hyper server.

use crate::process::{Spawned, cpu_seconds, percentile_ms, spawn_with_env, tree_cpu_seconds};
use anyhow::{Context, Result, anyhow, bail};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CLIENTS: usize = 8;
/// Alternating spans per side-by-side comparison.
const ROUNDS: usize = 5;

const APPEND: &str = "def run_integration(notification, query, all_tokens, token, storage, log):\n    \
                      storage[len(storage)] = query\n";
const NOOP: &str = "def run_integration(notification, query, all_tokens, token, storage, log):\n    \
                    pass\n";
/// The Slack signing secret the server and the load generator share.
const SLACK_SECRET: &str = "bench-slack-signing-secret";
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

/// One request's content, sent as is by every client.
#[derive(Clone)]
struct Payload {
    content_type: &'static str,
    headers: Vec<(&'static str, String)>,
    body: bytes::Bytes,
}

impl Payload {
    fn json(body: &str) -> Self {
        Self {
            content_type: "application/json",
            headers: Vec::new(),
            body: bytes::Bytes::copy_from_slice(body.as_bytes()),
        }
    }

    /// Slack's slash-command form for `command text`, signed with `secret` as Slack signs it
    /// (HMAC-SHA256 over `v0:{timestamp}:{body}`) at the current time: good for five minutes.
    fn slack(command: &str, text: &str, secret: &str) -> Result<Self> {
        use hmac::Mac;
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("token", "unused"),
                ("team_id", "T0001"),
                ("team_domain", "bench"),
                ("channel_id", "C0001"),
                ("channel_name", "bench"),
                ("user_id", "U0001"),
                ("user_name", "bench"),
                ("command", command),
                ("text", text),
                ("response_url", "http://127.0.0.1:9/unused"),
                ("trigger_id", "1.2.3"),
            ])
            .finish();
        let timestamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs()
            .to_string();
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
            .map_err(|_| anyhow!("the Slack signing secret is unusable"))?;
        mac.update(format!("v0:{timestamp}:{body}").as_bytes());
        let signature: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(Self {
            content_type: "application/x-www-form-urlencoded",
            headers: vec![
                ("x-slack-request-timestamp", timestamp),
                ("x-slack-signature", format!("v0={signature}")),
            ],
            body: bytes::Bytes::from(body),
        })
    }
}

/// Spans of load against one server, summed: requests answered, time taken, each request's
/// latency, and the CPU time the server's processes (with their children) used meanwhile.
#[derive(Default)]
struct Phase {
    requests: usize,
    seconds: f64,
    latencies: Vec<Duration>,
    cpu_seconds: f64,
    /// The server process's own share of `cpu_seconds` (without its Python host).
    own_cpu_seconds: f64,
    load_cpu_seconds: f64,
}

impl Phase {
    fn rate(&self) -> f64 {
        self.requests as f64 / self.seconds
    }

    fn p99_ms(&self) -> f64 {
        percentile_ms(self.latencies.clone(), 99)
    }

    fn per_request_us(&self, cpu_seconds: f64) -> f64 {
        cpu_seconds * 1e6 / self.requests as f64
    }

    /// The table row: rate, p99, ratio to `baseline_rate`, CPU per request (the server's
    /// processes, of which its own process, and the load generator's).
    fn row(&mut self, what: &str, baseline_rate: f64, target: &str) -> String {
        format!(
            "| {what} | {:.0} | {:.1} ms | {:.2}x | {:.0} µs ({:.0} µs) | {:.0} µs | {target} |\n",
            self.rate(),
            self.p99_ms(),
            self.rate() / baseline_rate,
            self.per_request_us(self.cpu_seconds),
            self.per_request_us(self.own_cpu_seconds),
            self.per_request_us(self.load_cpu_seconds)
        )
    }
}

/// A server under load: its address and path, whose CPU to count, and whether it closes every
/// connection (HTTP/1.0 servers do, so each request then opens its own).
struct Target {
    addr: std::net::SocketAddr,
    path: String,
    pid: u32,
    fresh_connections: bool,
}

/// One client's HTTP/1 connection.
type Connection = hyper::client::conn::http1::SendRequest<http_body_util::Full<bytes::Bytes>>;

impl Target {
    /// `url` is `http://IP:PORT/path`, as the servers print it.
    fn new(url: &str, pid: u32, fresh_connections: bool) -> Result<Self> {
        let rest = url
            .strip_prefix("http://")
            .with_context(|| format!("not an http:// URL: {url}"))?;
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        Ok(Self {
            addr: authority.parse().context("the server's address")?,
            path: format!("/{path}"),
            pid,
            fresh_connections,
        })
    }

    async fn connect(addr: std::net::SocketAddr) -> Result<Connection> {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        Ok(sender)
    }

    /// POSTs `body` from [`CLIENTS`] loops for `seconds` and adds the span to `phase`. Each
    /// loop holds one connection (a new one per request for an HTTP/1.0 server) and sends a
    /// prepared request with bare hyper, so the load generator takes as little of the shared
    /// CPU as it can.
    async fn measure(&self, payload: &Payload, seconds: f64, phase: &mut Phase) -> Result<()> {
        let latencies = Arc::new(Mutex::new(Vec::new()));
        let own = self.pid.to_string();
        let cpu_before = (
            tree_cpu_seconds(self.pid)?,
            cpu_seconds(&own)?,
            cpu_seconds("self")?,
        );
        let started = Instant::now();
        let deadline = started + Duration::from_secs_f64(seconds);
        let mut tasks = Vec::new();
        for _ in 0..CLIENTS {
            let (addr, path, payload, latencies, fresh) = (
                self.addr,
                self.path.clone(),
                payload.clone(),
                latencies.clone(),
                self.fresh_connections,
            );
            tasks.push(tokio::spawn(async move {
                let host = hyper::header::HeaderValue::try_from(addr.to_string())?;
                let mut mine = Vec::new();
                let mut connection: Option<Connection> = None;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let mut sender = match connection.take() {
                        Some(open) if !fresh && !open.is_closed() => open,
                        _ => Self::connect(addr).await?,
                    };
                    let mut request = hyper::Request::post(path.as_str())
                        .header(hyper::header::HOST, host.clone())
                        .header(hyper::header::CONTENT_TYPE, payload.content_type);
                    for (name, value) in &payload.headers {
                        request = request.header(*name, value.as_str());
                    }
                    let request = request.body(http_body_util::Full::new(payload.body.clone()))?;
                    let response = sender.send_request(request).await?;
                    if !response.status().is_success() {
                        bail!("status {}", response.status());
                    }
                    http_body_util::BodyExt::collect(response.into_body()).await?;
                    mine.push(t.elapsed());
                    connection = Some(sender);
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
        phase.seconds += started.elapsed().as_secs_f64();
        phase.cpu_seconds += tree_cpu_seconds(self.pid)? - cpu_before.0;
        phase.own_cpu_seconds += cpu_seconds(&own)? - cpu_before.1;
        phase.load_cpu_seconds += cpu_seconds("self")? - cpu_before.2;
        let mine = std::mem::take(&mut *latencies.lock().map_err(|_| anyhow!("poisoned"))?);
        phase.requests += mine.len();
        phase.latencies.extend(mine);
        Ok(())
    }
}

/// Measures `a` and `b` in [`ROUNDS`] alternating spans of `seconds / ROUNDS` each, so that a
/// change in the machine's speed during the run (a shared VM) weighs on both alike.
async fn side_by_side(
    a: (&Target, &Payload),
    b: (&Target, &Payload),
    seconds: f64,
) -> Result<(Phase, Phase)> {
    let (mut phase_a, mut phase_b) = (Phase::default(), Phase::default());
    for _ in 0..ROUNDS {
        a.0.measure(a.1, seconds / ROUNDS as f64, &mut phase_a)
            .await?;
        b.0.measure(b.1, seconds / ROUNDS as f64, &mut phase_b)
            .await?;
    }
    Ok((phase_a, phase_b))
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
        &[
            "integrations",
            "0",
            dir.to_str().context("dir")?,
            "--listen",
            "127.0.0.1",
        ],
        &[
            ("HIPKIT_STORE", store.to_str().context("store")?),
            ("HIPKIT_LOG", "error"),
            ("HIPKIT_INTEGRATIONS__CONCURRENCY", "8"),
            ("HIPKIT_INTEGRATIONS__SLACK__SIGNING_SECRET", SLACK_SECRET),
            // The append integration adds a key per call: past the default quota (10,000
            // keys) every call would be a refusal, and the row would measure that instead.
            ("HIPKIT_INTEGRATIONS__STORAGE_MAX_KEYS", "100000000"),
            ("HIPKIT_INTEGRATIONS__STORAGE_MAX_BYTES", "4294967296"),
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
    let query = Payload::json(&webhook("/append bench query"));

    let seed_log = tempfile::NamedTempFile::new()?;
    // The baseline gets its own copy of the folder: it re-imports the file per request, and
    // those reads would otherwise reach hipkit's folder watcher while both run side by side.
    let seed_dir = tempfile::tempdir()?;
    std::fs::write(seed_dir.path().join("append.py"), APPEND)?;
    let (seed, seed_url) = seed_baseline(seed_dir.path(), seed_log.path())?;
    let seed = Target::new(&seed_url, seed.0.id(), true).map(|t| (seed, t))?;
    // The store lives outside the watched folder, as a deployment keeps it (its writes
    // would otherwise wake the folder watcher at every commit).
    let data = tempfile::tempdir()?;
    let serve = integrations(hipkit, dir.path(), &data.path().join("bench.db"))?;
    let hook = Target::new(
        &format!("{}/hooks/hipchat", serve.base),
        serve.child.id(),
        false,
    )?;
    // Warm the host (its first call starts Python).
    hook.measure(&query, 0.2, &mut Phase::default()).await?;
    let (mut seed_phase, mut py) =
        side_by_side((&seed.1, &query), (&hook, &query), seconds).await?;
    drop(seed);
    let noop_body = Payload::json(&webhook("/noop"));
    hook.measure(&noop_body, 0.2, &mut Phase::default()).await?;
    let mut noop = Phase::default();
    hook.measure(&noop_body, seconds, &mut noop).await?;
    let mut sh = Phase::default();
    hook.measure(&Payload::json(&webhook("/appendsh q")), seconds, &mut sh)
        .await?;

    // The same Python integration as a Slack slash command, beside its HipChat webhook.
    let slack = Target::new(
        &format!("{}/hooks/slack", serve.base),
        serve.child.id(),
        false,
    )?;
    let signed = Payload::slack("/append", "bench query", SLACK_SECRET)?;
    slack.measure(&signed, 0.2, &mut Phase::default()).await?;
    let (mut hipchat_hook, mut slack_hook) =
        side_by_side((&hook, &query), (&slack, &signed), seconds).await?;

    let (hello, hello_url) = hello_server()?;
    let hello = Target::new(&hello_url, hello.0.id(), false).map(|t| (hello, t))?;
    let ping_body = Payload::json(&webhook("/ping"));
    let (mut bare, mut ping) =
        side_by_side((&hello.1, &ping_body), (&hook, &ping_body), seconds).await?;
    drop(serve);

    let seed_rate = seed_phase.rate();
    let hello_rate = bare.rate();
    Ok(format!(
        "## Slash-command integrations (issues 9 and 23)\n\n\
         One run, {CLIENTS} clients over loopback, each sending `room_message` webhooks one \
         after another. The Python integration appends the query to its storage \
         (`storage[len(storage)] = query`); hipkit persists every call's change to SQLite \
         before answering. The seed baseline is `bench/seed_baseline.py`: what the seed \
         server does per request (single-threaded `http.server`, the integration file \
         re-imported per request, run in a new thread), answering 204 (the seed never \
         answered); for reference, the seed itself ran 958 integrations/s on this machine. \
         Each pair compared (the baseline and hipkit's Python integration; hyper and hipkit's \
         `/ping`) runs in {ROUNDS} alternating spans, {seconds} s in all per side; the other \
         rows run {seconds} s each. CPU per request is user + system time of the server's \
         processes (hipkit with its Python host; the Slack row signs each span's form once, as \
         Slack signs every request, and the server checks the HMAC per request; in brackets the server's own process) and of the load generator (bare hyper, one \
         connection per client, or one per request for the HTTP/1.0 baseline) over requests \
         answered.\n\n\
         | measurement | requests/s | p99 | ratio | CPU per request: server (its own process) | load generator | target |\n\
         |---|---|---|---|---|---|---|\n{}{}{}{}{}{}{}{}",
        seed_phase.row("seed baseline, Python integration", seed_rate, "—"),
        py.row(
            "`hipkit integrations`, same Python integration (warm host)",
            seed_rate,
            "≥ 10x, p99 ≤ 10 ms"
        ),
        noop.row(
            "`hipkit integrations`, a Python integration that does nothing (no storage write)",
            seed_rate,
            "—"
        ),
        sh.row(
            "`hipkit integrations`, executable integration (`/bin/sh`, a process per call)",
            seed_rate,
            "reported"
        ),
        hipchat_hook.row(
            "`/hooks/hipchat`, the Python integration (issue 23's baseline)",
            hipchat_hook.rate(),
            "—"
        ),
        slack_hook.row(
            "`/hooks/slack`, the same integration as a signed Slack slash command, ratio to `/hooks/hipchat`",
            hipchat_hook.rate(),
            "≥ 0.80x"
        ),
        bare.row("bare hyper hello-world server", hello_rate, "—"),
        ping.row(
            "`hipkit integrations` intake, built-in `/ping` (parse, route, reply), ratio to hyper",
            hello_rate,
            "≥ 0.50x"
        ),
    ))
}

/// `hipkit-bench hook URL PID MESSAGE`: one span of webhooks carrying `MESSAGE` against a
/// server already running (process `PID`), for profiling it from outside.
pub async fn load_only(url: &str, pid: u32, message: &str, seconds: f64) -> Result<String> {
    let target = Target::new(url, pid, false)?;
    let mut phase = Phase::default();
    target
        .measure(&Payload::json(&webhook(message)), seconds, &mut phase)
        .await?;
    Ok(format!(
        "| measurement | requests/s | p99 | ratio | CPU per request: server (its own process) | load generator | target |\n\
         |---|---|---|---|---|---|---|\n{}",
        phase.row(message, phase.rate(), "—")
    ))
}
