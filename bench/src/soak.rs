//! `scripts/soak` (issue 20): minutes of mixed traffic, at a fixed rate, on every endpoint of
//! one release `hipkit serve` — the send API, the Buildbot relay, the integrations' webhooks
//! (a Python integration that keeps a counter in its storage), and the built-in emulator's API
//! and web UI with event streams held open. Per minute it reports requests, errors, p50/p99
//! latency and the server's RSS; at the end it waits for the outbox to drain and counts what
//! reached the emulator. It fails on any error, any lost message, or RSS growing more than 10%
//! past the first minute's.

use crate::process::{NO_SEND_LIMITS, Spawned, percentile_ms, rss_mib, spawn_reading};
use anyhow::{Context, Result, anyhow, bail};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Event streams held open on the emulator's UI for the whole run.
const STREAMS: usize = 16;
/// How much the RSS may grow past the first minute's before the soak fails.
const RSS_GROWTH_LIMIT: f64 = 0.10;
/// Messages the emulator keeps per room: its history is bounded memory that fills within the
/// first minute, so growth past it is the server's own.
const RETENTION: usize = 200;
/// How long the outbox may take to drain after the traffic stops.
const DRAIN_LIMIT: Duration = Duration::from_secs(60);

/// A Buildbot HttpStatusPush body (a finished build of `Builder0`).
const BUILD: &str = include_str!("../data/buildbot-build.json");

const INTEGRATION: &str = "def run_integration(notification, query, all_tokens, token, storage, log):\n    \
                           storage['n'] = storage.get('n', 0) + 1\n    \
                           return 'counted %d' % storage['n']\n";

/// The requests the soak sends, in turn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    SendApi,
    Relay,
    Webhook,
    EmulatorPost,
    EmulatorHistory,
    Ui,
}

const KINDS: [Kind; 6] = [
    Kind::SendApi,
    Kind::Relay,
    Kind::Webhook,
    Kind::EmulatorPost,
    Kind::EmulatorHistory,
    Kind::Ui,
];

/// What one minute saw.
#[derive(Default)]
struct Minute {
    latencies: Vec<Duration>,
    errors: Vec<String>,
}

/// The server under soak and how to reach its parts.
struct Target {
    http: reqwest::Client,
    serve: String,
    emulator: String,
    token: String,
}

impl Target {
    /// Sends one request of `kind`; any answer but a success is an error.
    async fn send(&self, kind: Kind, n: u64) -> Result<()> {
        let request = match kind {
            Kind::SendApi => self
                .http
                .post(format!("{}/api/v1/messages", self.serve))
                .json(&serde_json::json!({"room": "Soak", "message": format!("soak {n}")})),
            Kind::Relay => self
                .http
                .post(format!("{}/hooks/buildbot", self.serve))
                .header("content-type", "application/json")
                // Each request a new build: without a key the relay takes a resent build
                // (same `buildid` and event) as a retry and posts it once.
                .header("idempotency-key", format!("soak-{n}"))
                .body(BUILD),
            Kind::Webhook => self
                .http
                .post(format!("{}/hooks/hipchat", self.serve))
                .json(&webhook("/count")),
            Kind::EmulatorPost => self
                .http
                .post(format!("{}/v2/room/Direct/notification", self.emulator))
                .bearer_auth(&self.token)
                .json(&serde_json::json!({"message": format!("direct {n}")})),
            Kind::EmulatorHistory => self
                .http
                .get(format!("{}/v2/room/Direct/history/latest", self.emulator))
                .bearer_auth(&self.token)
                .query(&[("max-results", "20")]),
            Kind::Ui => self.http.get(format!("{}/", self.emulator)),
        };
        let answer = request.send().await?;
        let status = answer.status();
        // Read the whole body: a page or history cut short is an error too.
        let body = answer.bytes().await?;
        if !status.is_success() {
            bail!(
                "{kind:?}: status {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        Ok(())
    }

    /// How many messages the emulator has stored in `room` since it started.
    async fn delivered(&self, room: &str) -> Result<u64> {
        let stats: serde_json::Value = self
            .http
            .get(format!("{}/v2/room/{room}/statistics", self.emulator))
            .bearer_auth(&self.token)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        stats["messages_sent"]
            .as_u64()
            .context("statistics without messages_sent")
    }
}

/// A HipChat `room_message` webhook carrying `message`.
fn webhook(message: &str) -> serde_json::Value {
    serde_json::json!({
        "event": "room_message",
        "item": {"message": {"date": "2026-12-07T10:11:12+00:00", "id": "m", "type": "message",
                             "message": message, "mentions": [],
                             "from": {"id": 1, "links": {}, "mention_name": "soak",
                                      "name": "Soak", "version": "1"}},
                 "room": {"id": 1, "is_archived": false, "links": {}, "name": "Hooks",
                          "privacy": "public", "version": "1"}},
        "oauth_client_id": "soak",
        "webhook_id": 1
    })
}

/// Starts `hipkit serve` with the relay, an integration and the built-in emulator on free
/// loopback ports; returns it with its emulator's URL and token.
fn start(hipkit: &Path, dir: &Path) -> Result<(Spawned, String, String)> {
    let folder = dir.join("integrations");
    std::fs::create_dir_all(&folder)?;
    std::fs::write(folder.join("count.py"), INTEGRATION)?;
    let config = dir.join("hipkit.toml");
    std::fs::write(
        &config,
        format!(
            "[emulator]\nlisten = \"127.0.0.1:0\"\nrooms = [\"Soak\", \"Builds\", \"Direct\", \"Hooks\"]\n\
             retention = {RETENTION}\n\n\
             [integrations]\npath = {:?}\n\n\
             [[reporters.hipchat]]\nbuilder_room_map = {{ \"Builder0\" = \"Builds\" }}\nmode = \"all\"\n",
            folder.to_str().context("integrations path")?
        ),
    )?;
    let store = dir.join("soak.db");
    let (serve, banner) = spawn_reading(
        hipkit,
        &["serve", "--listen", "127.0.0.1:0"],
        &[
            ("HIPKIT_CONFIG", config.to_str().context("config path")?),
            ("HIPKIT_STORE", store.to_str().context("store path")?),
            NO_SEND_LIMITS[0],
            NO_SEND_LIMITS[1],
        ],
        |line| line.contains("emulator token"),
    )?;
    let after = |label: &str| -> Result<String> {
        banner
            .iter()
            .find_map(|l| l.trim_start().strip_prefix(label))
            .map(str::trim)
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("no `{label}` line in the banner: {banner:?}"))
    };
    let emulator = after("HipChat:")?
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .map(str::to_owned)
        .context("no emulator URL in the banner")?;
    let token = after("emulator token (all scopes):")?;
    Ok((serve, emulator, token))
}

/// Opens `GET /ui/events` and reads it until the run ends; an early end is an error.
async fn hold_stream(http: reqwest::Client, url: String, until: Instant) -> Result<()> {
    let mut answer = http.get(&url).send().await?.error_for_status()?;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(());
        }
        match tokio::time::timeout(left, answer.chunk()).await {
            Err(_) => return Ok(()),
            Ok(Ok(Some(_))) => {}
            Ok(Ok(None)) => bail!("an event stream ended early"),
            Ok(Err(e)) => return Err(e.into()),
        }
    }
}

/// Runs the soak for `minutes` at `rate` requests per second; returns the markdown report, or
/// an error carrying it when the soak failed.
pub async fn run(hipkit: &Path, minutes: u64, rate: f64) -> Result<String> {
    let dir = tempfile::tempdir()?;
    let (serve, emulator, token) = start(hipkit, dir.path())?;
    let target = Arc::new(Target {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()?,
        serve: serve.base.clone(),
        emulator: emulator.clone(),
        token,
    });
    let start = Instant::now();
    let until = start + Duration::from_secs(minutes * 60);
    let streams: Vec<_> = (0..STREAMS)
        .map(|_| {
            let http = reqwest::Client::new();
            tokio::spawn(hold_stream(http, format!("{emulator}/ui/events"), until))
        })
        .collect();

    let minutes_seen: Arc<Mutex<Vec<Minute>>> = Arc::new(Mutex::new(
        (0..minutes).map(|_| Minute::default()).collect(),
    ));
    let mut rss = Vec::new();
    let mut accepted = [0u64; KINDS.len()];
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut requests = Vec::new();
    let mut n = 0u64;
    let mut next_sample = start + Duration::from_secs(60);
    while Instant::now() < until {
        ticker.tick().await;
        if Instant::now() >= next_sample {
            rss.push(rss_mib(serve.child.id())?);
            next_sample += Duration::from_secs(60);
        }
        let kind = KINDS[(n % KINDS.len() as u64) as usize];
        accepted[(n % KINDS.len() as u64) as usize] += 1;
        let (target, seen) = (target.clone(), minutes_seen.clone());
        requests.push(tokio::spawn(async move {
            let sent = Instant::now();
            let outcome = target.send(kind, n).await;
            let minute = (sent.duration_since(start).as_secs() / 60) as usize;
            if let Ok(mut seen) = seen.lock()
                && let Some(m) = seen.get_mut(minute)
            {
                m.latencies.push(sent.elapsed());
                if let Err(e) = outcome {
                    m.errors.push(format!("{e:#}"));
                }
            }
        }));
        n += 1;
    }
    for r in requests {
        r.await?;
    }
    if rss.len() < minutes as usize {
        rss.push(rss_mib(serve.child.id())?);
    }
    let mut stream_errors = Vec::new();
    for s in streams {
        if let Err(e) = s.await? {
            stream_errors.push(format!("{e:#}"));
        }
    }

    // Everything accepted must reach the emulator: the send API's messages in `Soak`, the
    // relay's (one per finished build in mode `all`) in `Builds`, the direct posts in `Direct`.
    let index = |k: Kind| KINDS.iter().position(|x| *x == k).unwrap_or(0);
    let expected = [
        ("Soak", accepted[index(Kind::SendApi)]),
        ("Builds", accepted[index(Kind::Relay)]),
        ("Direct", accepted[index(Kind::EmulatorPost)]),
    ];
    let drain_started = Instant::now();
    let mut got = [0u64; 3];
    loop {
        for (i, (room, _)) in expected.iter().enumerate() {
            got[i] = target.delivered(room).await?;
        }
        let done = expected
            .iter()
            .zip(got)
            .all(|((_, want), have)| have >= *want);
        if done || drain_started.elapsed() > DRAIN_LIMIT {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let drained_in = drain_started.elapsed();
    drop(serve);

    let seen = minutes_seen
        .lock()
        .map_err(|_| anyhow!("a request task panicked"))?;
    let mut report = format!(
        "## Soak (issue 20)\n\n\
         One release `hipkit serve` (SQLite outbox, the relay with one HipChat reporter, a Python \
         integration keeping a counter in its storage, the built-in emulator) under {rate:.0} \
         requests/s for {minutes} min, in turn: send API, relay (`/hooks/buildbot`), webhook \
         (`/hooks/hipchat`), emulator notification, emulator history, emulator UI page; \
         {STREAMS} `/ui/events` streams held open throughout.\n\n\
         | minute | requests | errors | p50 | p99 | RSS |\n|---|---|---|---|---|---|\n"
    );
    let mut failures = Vec::new();
    for (i, m) in seen.iter().enumerate() {
        report.push_str(&format!(
            "| {} | {} | {} | {:.1} ms | {:.1} ms | {:.1} MiB |\n",
            i + 1,
            m.latencies.len(),
            m.errors.len(),
            percentile_ms(m.latencies.clone(), 50),
            percentile_ms(m.latencies.clone(), 99),
            rss.get(i).copied().unwrap_or(f64::NAN),
        ));
        if let Some(first) = m.errors.first() {
            failures.push(format!(
                "minute {}: {} errors, the first: {first}",
                i + 1,
                m.errors.len()
            ));
        }
    }
    failures.extend(stream_errors);
    report.push_str("\n| room | accepted | delivered |\n|---|---|---|\n");
    for ((room, want), have) in expected.iter().zip(got) {
        report.push_str(&format!("| {room} | {want} | {have} |\n"));
        if have < *want {
            failures.push(format!("{room}: {} messages lost", want - have));
        }
    }
    report.push_str(&format!(
        "\nOutbox drained {:.1} s after the traffic stopped.\n",
        drained_in.as_secs_f64()
    ));
    if let Some(first) = rss.first() {
        let peak = rss.iter().skip(1).copied().fold(*first, f64::max);
        let growth = peak / first - 1.0;
        report.push_str(&format!(
            "RSS after the first minute {first:.1} MiB, peak after it {peak:.1} MiB ({:+.1}%; limit +{:.0}%).\n",
            growth * 100.0,
            RSS_GROWTH_LIMIT * 100.0
        ));
        if growth > RSS_GROWTH_LIMIT {
            failures.push(format!(
                "RSS grew {:.1}% past the first minute",
                growth * 100.0
            ));
        }
    }
    if failures.is_empty() {
        report.push_str("\nVerdict: passed (no errors, nothing lost, RSS within the limit).\n");
        Ok(report)
    } else {
        bail!("{report}\nVerdict: FAILED\n- {}", failures.join("\n- "))
    }
}
