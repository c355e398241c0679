//! Issue 3's numbers: intake into the SQLite outbox beside the memory transport, delivery
//! throughput from the outbox beside the emulator's own accept rate, and serve's memory.

use crate::client::{ROOM, TOKEN, accept_rate, reset, spawn_emulator};
use crate::load::post_rate;
use crate::process::{NO_SEND_LIMITS, Spawned, cpu_seconds, rss_mib, spawn_with_env};
use anyhow::{Context, Result, bail};
use hipchat::RoomNotification;
use hipkit_store::{NewRecord, OutboxStore, SqliteStore, now_millis};
use hipkit_transport::Message;
use std::path::Path;
use std::time::{Duration, Instant};

const BACKLOG: usize = 10_000;

/// Worker counts the delivery phase is measured with.
const WORKERS: [&str; 4] = ["8", "32", "64", "128"];

fn serve(
    hipkit: &Path,
    emulator: &str,
    store: &Path,
    backend: &str,
    concurrency: &str,
) -> Result<Spawned> {
    let store = store.to_str().context("store path")?;
    serve_with(hipkit, emulator, store, backend, concurrency, &[])
}

/// `hipkit serve` on `store` (a SQLite path or a PostgreSQL URL) with more settings in `env`.
pub(crate) fn serve_with(
    hipkit: &Path,
    emulator: &str,
    store: &str,
    backend: &str,
    concurrency: &str,
    env: &[(&str, &str)],
) -> Result<Spawned> {
    let mut all = vec![
        ("HIPCHAT_ENDPOINT", emulator),
        ("HIPCHAT_API_TOKEN", TOKEN),
        ("HIPKIT_STORE", store),
        ("HIPKIT_CONCURRENCY", concurrency),
    ];
    // `env` comes later and wins (a phase may turn the limits back on).
    all.extend_from_slice(&NO_SEND_LIMITS);
    all.extend_from_slice(env);
    spawn_with_env(
        hipkit,
        &["serve", "--listen", "127.0.0.1:0", "--backend", backend],
        &all,
    )
}

/// POSTs pre-serialized messages with 64 in flight for `seconds`; returns accepted per second.
pub(crate) async fn intake_rate(base: &str, seconds: f64) -> Result<f64> {
    let body = format!(r#"{{"room":"{ROOM}","message":"intake bench","color":"green"}}"#);
    post_rate(&format!("{base}/api/v1/messages"), None, &body, seconds).await
}

pub(crate) async fn add_fault(emulator: &str, rule: serde_json::Value) -> Result<()> {
    reqwest::Client::new()
        .post(format!("{emulator}/_emulator/faults"))
        .bearer_auth(TOKEN)
        .json(&rule)
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}

/// Notifications the emulator has stored in the bench room (a cheap O(1) read).
pub(crate) async fn delivered(http: &reqwest::Client, emulator: &str) -> Result<u64> {
    let stats: serde_json::Value = http
        .get(format!("{emulator}/v2/room/{ROOM}/statistics"))
        .bearer_auth(TOKEN)
        .send()
        .await?
        .json()
        .await?;
    stats["messages_sent"].as_u64().context("messages_sent")
}

/// Writes a backlog straight into a fresh store, as an outage would leave it.
async fn backlog(path: &Path, count: usize) -> Result<()> {
    backlog_into(&SqliteStore::open(path).await?, count).await
}

/// Writes a backlog of `count` notifications to the bench room into `store`.
pub(crate) async fn backlog_into(store: &dyn OutboxStore, count: usize) -> Result<()> {
    let payload =
        serde_json::to_string(&Message::room(ROOM, RoomNotification::new("backlog bench")))?;
    let records: Vec<NewRecord> = (0..count)
        .map(|_| NewRecord {
            destination: format!("room:{ROOM}"),
            payload: payload.clone(),
            created_at: now_millis(),
            idempotency: None,
            lane: None,
        })
        .collect();
    for chunk in records.chunks(1000) {
        store.enqueue(chunk).await?;
    }
    Ok(())
}

/// The emulator's accept rate, and the CPU each side spent per notification.
struct Accept {
    rate: f64,
    load_us: f64,
    emulator_us: f64,
}

async fn measure_accept(emulator: &Spawned, seconds: f64) -> Result<Accept> {
    let pid = emulator.child.id().to_string();
    let before = (cpu_seconds(&pid)?, cpu_seconds("self")?);
    let rate = accept_rate(&emulator.base, seconds).await?;
    let count = rate * seconds;
    Ok(Accept {
        rate,
        emulator_us: (cpu_seconds(&pid)? - before.0) * 1e6 / count,
        load_us: (cpu_seconds("self")? - before.1) * 1e6 / count,
    })
}

/// One backlog delivery: rate, peak RSS and CPU spent per message on each side.
struct Drain {
    rate: f64,
    peak_mib: f64,
    serve_us: f64,
    emulator_us: f64,
}

/// Delivers a backlog of `count` through `serve` with `concurrency` workers.
async fn drain(
    hipkit: &Path,
    emulator: &Spawned,
    dir: &Path,
    concurrency: &str,
    count: usize,
) -> Result<Drain> {
    let store = dir.join(format!("backlog-{concurrency}.db"));
    backlog(&store, count).await?;
    let emulator_pid = emulator.child.id().to_string();
    let emulator_cpu = cpu_seconds(&emulator_pid)?;
    // One polling client for the whole phase: building one per poll costs the measured
    // processes CPU.
    let http = reqwest::Client::new();
    // The emulator counts every message it ever took (the accept phases' too): only what it
    // takes from now on is this backlog's delivery.
    let already = delivered(&http, &emulator.base).await?;
    let started = Instant::now();
    let server = serve(hipkit, &emulator.base, &store, "outbox", concurrency)?;
    let serve_pid = server.child.id().to_string();
    let mut peak_mib = 0.0f64;
    let mut serve_cpu;
    loop {
        peak_mib = peak_mib.max(rss_mib(server.child.id())?);
        serve_cpu = cpu_seconds(&serve_pid)?;
        if delivered(&http, &emulator.base).await? - already >= count as u64 {
            break;
        }
        if started.elapsed() > Duration::from_secs(300) {
            bail!("backlog not delivered within 5 minutes");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let per_message = |cpu: f64| cpu * 1e6 / count as f64;
    Ok(Drain {
        rate: count as f64 / started.elapsed().as_secs_f64(),
        peak_mib,
        serve_us: per_message(serve_cpu),
        emulator_us: per_message(cpu_seconds(&emulator_pid)? - emulator_cpu),
    })
}

/// Kills `serve` with SIGKILL mid-delivery, restarts it on the same store with the default
/// 60 s lease, and returns the milliseconds from the restart (spawn) until the first
/// message after it is delivered, and until the whole backlog is.
async fn restart_to_delivery(hipkit: &Path, emulator: &Spawned, dir: &Path) -> Result<(f64, f64)> {
    let store = dir.join("restart.db");
    backlog(&store, BACKLOG).await?;
    let http = reqwest::Client::new();
    // Counted from here: the emulator's total includes every earlier phase's messages.
    let already = delivered(&http, &emulator.base).await?;
    let mut server = serve(hipkit, &emulator.base, &store, "outbox", "8")?;
    let deadline = Instant::now() + Duration::from_secs(120);
    while delivered(&http, &emulator.base).await? - already < (BACKLOG / 5) as u64 {
        if Instant::now() > deadline {
            bail!("no deliveries before the kill");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let _ = server.child.kill();
    let _ = server.child.wait();
    let before = delivered(&http, &emulator.base).await? - already;
    let restarted = Instant::now();
    server = serve(hipkit, &emulator.base, &store, "outbox", "8")?;
    let mut first = None;
    loop {
        let now = delivered(&http, &emulator.base).await? - already;
        if first.is_none() && now > before {
            first = Some(restarted.elapsed());
        }
        if now >= BACKLOG as u64 {
            break;
        }
        if restarted.elapsed() > Duration::from_secs(300) {
            bail!("backlog not delivered within 5 minutes of the restart");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    drop(server);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    Ok((first.map(ms).unwrap_or(0.0), ms(restarted.elapsed())))
}

/// Only the delivery phase, with one worker count (for profiling): prints rate and CPU.
pub async fn drain_only(hipkit: &Path, workers: &str, count: usize) -> Result<String> {
    let emu = spawn_emulator(hipkit)?;
    let dir = tempfile::tempdir()?;
    let d = drain(hipkit, &emu, dir.path(), workers, count).await?;
    Ok(format!(
        "{count} messages, {workers} workers: {:.0} messages/s, serve {:.0} µs/message, emulator {:.0} µs/message",
        d.rate, d.serve_us, d.emulator_us
    ))
}

/// The outbox intake phase alone, delivery held (each send waits a minute): accepted
/// messages per second and the server's RSS after it. Leaves the emulator faulted.
async fn outbox_intake(
    hipkit: &Path,
    emu: &Spawned,
    dir: &Path,
    seconds: f64,
) -> Result<(f64, f64)> {
    add_fault(
        &emu.base,
        serde_json::json!({"times": 1_000_000, "action": {"delay": {"delay_ms": 60_000}}}),
    )
    .await?;
    let outbox = serve(hipkit, &emu.base, &dir.join("intake.db"), "outbox", "8")?;
    let rate = intake_rate(&outbox.base, seconds).await?;
    Ok((rate, rss_mib(outbox.child.id())?))
}

/// `hipkit-bench intake`: only the outbox intake phase, to compare two builds quickly.
pub async fn intake_only(hipkit: &Path, seconds: f64) -> Result<String> {
    let emu = spawn_emulator(hipkit)?;
    let dir = tempfile::tempdir()?;
    let (rate, rss) = outbox_intake(hipkit, &emu, dir.path(), seconds).await?;
    Ok(format!(
        "POST /api/v1/messages into the SQLite outbox (delivery held), {seconds} s: \
         {rate:.0} messages/s; RSS after {rss:.1} MiB"
    ))
}

/// Runs every measurement and returns the markdown report.
pub async fn run(hipkit: &Path, seconds: f64) -> Result<String> {
    let emu = spawn_emulator(hipkit)?;
    let dir = tempfile::tempdir()?;

    let idle = serve(
        hipkit,
        &emu.base,
        &dir.path().join("idle.db"),
        "outbox",
        "8",
    )?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle_rss = rss_mib(idle.child.id())?;
    let startup_ms = idle.time_to_listening.as_secs_f64() * 1000.0;
    drop(idle);

    let memory = serve(
        hipkit,
        &emu.base,
        &dir.path().join("memory.db"),
        "memory",
        "8",
    )?;
    let memory_rate = intake_rate(&memory.base, seconds).await?;
    drop(memory);

    let (outbox_rate, backlog_rss) = outbox_intake(hipkit, &emu, dir.path(), seconds).await?;
    let emu = {
        drop(emu);
        spawn_emulator(hipkit)?
    };

    // Each delivery phase is compared with the emulator's accept rate measured just before
    // it: this VM's speed drifts over minutes, so a baseline from the start of the run would
    // not be the same machine the later phases ran on.
    let mut phases = Vec::new();
    for workers in WORKERS {
        reset(&emu.base).await?;
        let accept = measure_accept(&emu, seconds).await?;
        reset(&emu.base).await?;
        let drained = drain(hipkit, &emu, dir.path(), workers, BACKLOG).await?;
        phases.push((workers, accept, drained));
    }
    reset(&emu.base).await?;
    let (restart_first_ms, restart_all_ms) = restart_to_delivery(hipkit, &emu, dir.path()).await?;
    let drain_rows: String = phases
        .iter()
        .map(|(workers, a, d)| {
            format!(
                "| {workers} | {:.0} messages/s | {:.0} notifications/s | {:.2}x | ≥ 0.5x |\n",
                d.rate,
                a.rate,
                d.rate / a.rate
            )
        })
        .collect();
    let cpu_rows: String = phases
        .iter()
        .map(|(workers, a, d)| {
            format!(
                "| {workers} | {:.0} µs | {:.0} µs | {:.0} µs | {:.0} µs |\n",
                a.load_us, a.emulator_us, d.serve_us, d.emulator_us
            )
        })
        .collect();
    let drains: Vec<&Drain> = phases.iter().map(|(_, _, d)| d).collect();
    let peaks: Vec<String> = drains
        .iter()
        .map(|d| format!("{:.1}", d.peak_mib))
        .collect();

    Ok(format!(
        "## Serve and the outbox (issue 3)\n\n\
         One run, {seconds} s per intake phase, 64 requests in flight from a Rust load generator over \
         loopback to a release `hipkit serve` process; SQLite in WAL mode with `synchronous=FULL`, \
         batched (group) commits.\n\n\
         | measurement | result | ratio | target |\n|---|---|---|---|\n\
         | `POST /api/v1/messages`, memory transport (baseline) | {memory_rate:.0} messages/s | 1.00x | — |\n\
         | `POST /api/v1/messages` into the SQLite outbox (delivery held) | {outbox_rate:.0} messages/s | {ri:.2}x of memory | ≥ 5,000/s |\n\
         | `hipkit serve` time to listening (outbox, SQLite open + migrations) | {startup_ms:.1} ms | | — |\n\
         | `hipkit serve` idle RSS | {idle_rss:.1} MiB | | < 15 MB |\n\
         | `kill -9` mid-delivery, restart: first delivery after the restart (60 s lease) | {restart_first_ms:.0} ms | | < 2 s |\n\
         | the same: rest of the 10,000 backlog delivered | {restart_all_ms:.0} ms | | — |\n\
         | `hipkit serve` RSS after the intake phase (backlog of {backlog} queued) | {backlog_rss:.1} MiB | | < 64 MB |\n\
         | `hipkit serve` peak RSS delivering a 10,000 backlog ({workers} workers) | {peaks} MiB | | < 64 MB |\n\n\
         Delivery of a 10,000-message backlog from the outbox to the emulator, beside the \
         emulator's own accept rate (raw pre-serialized POSTs, 64 in flight, {seconds} s) measured \
         just before each phase:\n\n\
         | workers | outbox → emulator | emulator accept rate (baseline) | ratio | target |\n\
         |---|---|---|---|---|\n\
         {drain_rows}\n\
         CPU time per message (user + system, from /proc) in those phases:\n\n\
         | workers | accept: load generator | accept: emulator | delivery: serve | delivery: emulator |\n\
         |---|---|---|---|---|\n\
         {cpu_rows}",
        ri = outbox_rate / memory_rate,
        workers = WORKERS.join(" / "),
        peaks = peaks.join(" / "),
        backlog = (outbox_rate * seconds) as u64,
    ))
}
