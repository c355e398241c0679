//! Issue 3's numbers: intake into the SQLite outbox beside the memory transport, delivery
//! throughput from the outbox beside the emulator's own accept rate, and serve's memory.

use crate::client::{ROOM, TOKEN, accept_rate, reset, spawn_emulator};
use crate::load::post_rate;
use crate::process::{Spawned, rss_mib, spawn_with_env};
use anyhow::{Context, Result, bail};
use hipchat::RoomNotification;
use hipkit_store::{NewRecord, SqliteStore, Store, now_millis};
use hipkit_transport::Message;
use std::path::Path;
use std::time::{Duration, Instant};

const BACKLOG: usize = 10_000;

fn serve(
    hipkit: &Path,
    emulator: &str,
    store: &Path,
    backend: &str,
    concurrency: &str,
) -> Result<Spawned> {
    let store = store.to_str().context("store path")?;
    spawn_with_env(
        hipkit,
        &["serve", "--listen", "127.0.0.1:0", "--backend", backend],
        &[
            ("HIPCHAT_ENDPOINT", emulator),
            ("HIPCHAT_API_TOKEN", TOKEN),
            ("HIPKIT_STORE", store),
            ("HIPKIT_CONCURRENCY", concurrency),
        ],
    )
}

/// POSTs pre-serialized messages with 64 in flight for `seconds`; returns accepted per second.
async fn intake_rate(base: &str, seconds: f64) -> Result<f64> {
    let body = format!(r#"{{"room":"{ROOM}","message":"intake bench","color":"green"}}"#);
    post_rate(&format!("{base}/api/v1/messages"), None, &body, seconds).await
}

async fn add_fault(emulator: &str, rule: serde_json::Value) -> Result<()> {
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
async fn delivered(emulator: &str) -> Result<u64> {
    let stats: serde_json::Value = reqwest::Client::new()
        .get(format!("{emulator}/v2/room/{ROOM}/statistics"))
        .bearer_auth(TOKEN)
        .send()
        .await?
        .json()
        .await?;
    stats["messages_sent"].as_u64().context("messages_sent")
}

/// Writes a backlog straight into a fresh store, as an outage would leave it.
async fn backlog(path: &Path) -> Result<()> {
    let store = SqliteStore::open(path).await?;
    let payload =
        serde_json::to_string(&Message::room(ROOM, RoomNotification::new("backlog bench")))?;
    let records: Vec<NewRecord> = (0..BACKLOG)
        .map(|_| NewRecord {
            destination: format!("room:{ROOM}"),
            payload: payload.clone(),
            created_at: now_millis(),
        })
        .collect();
    for chunk in records.chunks(1000) {
        store.enqueue(chunk).await?;
    }
    Ok(())
}

/// Delivers a 10,000-message backlog; returns (messages/s, peak RSS MiB while delivering).
async fn drain(hipkit: &Path, emulator: &str, dir: &Path, concurrency: &str) -> Result<(f64, f64)> {
    let store = dir.join(format!("backlog-{concurrency}.db"));
    backlog(&store).await?;
    let started = Instant::now();
    let server = serve(hipkit, emulator, &store, "outbox", concurrency)?;
    let mut peak = 0.0f64;
    loop {
        peak = peak.max(rss_mib(server.child.id())?);
        if delivered(emulator).await? >= BACKLOG as u64 {
            break;
        }
        if started.elapsed() > Duration::from_secs(300) {
            bail!("backlog not delivered within 5 minutes");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok((BACKLOG as f64 / started.elapsed().as_secs_f64(), peak))
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

    // Hold delivery (each send waits a minute) so this phase measures intake alone.
    add_fault(
        &emu.base,
        serde_json::json!({"times": 1_000_000, "action": {"delay": {"delay_ms": 60_000}}}),
    )
    .await?;
    let outbox = serve(
        hipkit,
        &emu.base,
        &dir.path().join("intake.db"),
        "outbox",
        "8",
    )?;
    let outbox_rate = intake_rate(&outbox.base, seconds).await?;
    let backlog_rss = rss_mib(outbox.child.id())?;
    drop(outbox);
    let emu = {
        drop(emu);
        spawn_emulator(hipkit)?
    };

    let accept = accept_rate(&emu.base, seconds).await?;
    reset(&emu.base).await?;
    let (drain8, peak8) = drain(hipkit, &emu.base, dir.path(), "8").await?;
    reset(&emu.base).await?;
    let (drain32, peak32) = drain(hipkit, &emu.base, dir.path(), "32").await?;
    reset(&emu.base).await?;
    let (drain64, peak64) = drain(hipkit, &emu.base, dir.path(), "64").await?;
    reset(&emu.base).await?;
    let (drain128, peak128) = drain(hipkit, &emu.base, dir.path(), "128").await?;

    Ok(format!(
        "## Serve and the outbox (issue 3)\n\n\
         One run, {seconds} s per intake phase, 64 requests in flight from a Rust load generator over \
         loopback to a release `hipkit serve` process; SQLite in WAL mode with `synchronous=FULL`, \
         batched (group) commits.\n\n\
         | measurement | result | ratio | target |\n|---|---|---|---|\n\
         | `POST /api/v1/messages`, memory transport (baseline) | {memory_rate:.0} messages/s | 1.00x | — |\n\
         | `POST /api/v1/messages` into the SQLite outbox (delivery held) | {outbox_rate:.0} messages/s | {ri:.2}x of memory | ≥ 5,000/s |\n\
         | emulator accept rate (raw POSTs, 64 in flight; baseline) | {accept:.0} notifications/s | 1.00x | — |\n\
         | outbox → emulator delivery, 10,000 backlog, 8 workers | {drain8:.0} messages/s | {rd8:.2}x of accept | ≥ 0.5x |\n\
         | outbox → emulator delivery, 10,000 backlog, 32 workers | {drain32:.0} messages/s | {rd32:.2}x of accept | ≥ 0.5x |\n\
         | outbox → emulator delivery, 10,000 backlog, 64 workers | {drain64:.0} messages/s | {rd64:.2}x of accept | ≥ 0.5x |\n\
         | outbox → emulator delivery, 10,000 backlog, 128 workers | {drain128:.0} messages/s | {rd128:.2}x of accept | ≥ 0.5x |\n\
         | `hipkit serve` time to listening (outbox, SQLite open + migrations) | {startup_ms:.1} ms | | — |\n\
         | `hipkit serve` idle RSS | {idle_rss:.1} MiB | | < 15 MB |\n\
         | `hipkit serve` RSS after the intake phase (backlog of {backlog} queued) | {backlog_rss:.1} MiB | | < 64 MB |\n\
         | `hipkit serve` peak RSS delivering a 10,000 backlog (8 / 32 / 64 / 128 workers) | {peak8:.1} / {peak32:.1} / {peak64:.1} / {peak128:.1} MiB | | < 64 MB |\n",
        ri = outbox_rate / memory_rate,
        rd8 = drain8 / accept,
        rd32 = drain32 / accept,
        rd64 = drain64 / accept,
        rd128 = drain128 / accept,
        backlog = (outbox_rate * seconds) as u64,
    ))
}
