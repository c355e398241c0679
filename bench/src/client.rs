//! Issue 2's numbers: the hipchat client (1 and 32 in flight) beside a Python
//! requests.Session loop, the emulator's accept rate, time to listening and idle RSS.

use crate::load::{post_rate, run_for};
use crate::process::{Spawned, median_ms, rss_mib, spawn};
use anyhow::{Result, bail};
use hipchat::{Client, Color, RoomNotification, RoomRef, Token};
use std::path::Path;
use std::time::Duration;

pub const TOKEN: &str = "bench-token";
pub const ROOM: &str = "Bench";

/// Sends notifications with `in_flight` concurrent loops for `seconds`; returns per second.
pub async fn client_rate(base: &str, in_flight: usize, seconds: f64) -> Result<f64> {
    let client = Client::builder(base, Token::new(TOKEN)).build()?;
    let room = RoomRef::parse(ROOM);
    let note = RoomNotification::new("bench").color(Color::Green);
    run_for(in_flight, seconds, move || {
        let (client, room, note) = (client.clone(), room.clone(), note.clone());
        async move {
            client.send_notification(&room, &note).await?;
            Ok(())
        }
    })
    .await
}

/// The emulator's accept rate: raw pre-serialized POSTs, 64 in flight, no client-side work.
pub async fn accept_rate(base: &str, seconds: f64) -> Result<f64> {
    let url = format!("{base}/v2/room/{ROOM}/notification");
    post_rate(
        &url,
        Some(TOKEN),
        r#"{"message":"bench","color":"green"}"#,
        seconds,
    )
    .await
}

/// Runs the Python requests.Session loop against `base`; returns per second.
pub fn python_rate(base: &str, seconds: f64) -> Result<f64> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/python_baseline.py");
    let out = std::process::Command::new("python3")
        .args([script, base, TOKEN, ROOM, &seconds.to_string()])
        .output()?;
    if !out.status.success() {
        bail!(
            "python baseline failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let count: f64 = String::from_utf8_lossy(&out.stdout).trim().parse()?;
    Ok(count / seconds)
}

/// Clears the emulator's history so memory stays flat between phases.
pub async fn reset(base: &str) -> Result<()> {
    reqwest::Client::new()
        .post(format!("{base}/_emulator/reset"))
        .bearer_auth(TOKEN)
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}

/// `hipkit emulator` on a free port with the bench token and room.
const EMULATOR_ARGS: [&str; 7] = [
    "emulator",
    "--listen",
    "127.0.0.1:0",
    "--token",
    TOKEN,
    "--room",
    ROOM,
];

/// Starts an emulator for a benchmark.
pub fn spawn_emulator(hipkit: &Path) -> Result<Spawned> {
    spawn(hipkit, &EMULATOR_ARGS)
}

/// Runs every measurement and returns the markdown report.
pub async fn run(hipkit: &Path, seconds: f64) -> Result<String> {
    let args = EMULATOR_ARGS;
    let mut startups = Vec::new();
    for _ in 0..15 {
        startups.push(spawn(hipkit, &args)?.time_to_listening);
    }
    let startup_ms = median_ms(startups);

    let emu = spawn(hipkit, &args)?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle_rss = rss_mib(emu.child.id())?;

    let python = python_rate(&emu.base, seconds)?;
    reset(&emu.base).await?;
    let one = client_rate(&emu.base, 1, seconds).await?;
    reset(&emu.base).await?;
    let many = client_rate(&emu.base, 32, seconds).await?;
    reset(&emu.base).await?;
    let accept = accept_rate(&emu.base, seconds).await?;
    reset(&emu.base).await?;
    let loaded_rss = rss_mib(emu.child.id())?;

    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    Ok(format!(
        "## Client and emulator (issue 2)\n\n\
         One run, same machine ({cores} cores), {seconds} s per phase, every request over loopback \
         to a release `hipkit emulator` process.\n\n\
         | measurement | result | ratio to Python baseline | target |\n|---|---|---|---|\n\
         | Python `requests.Session` keep-alive loop (baseline) | {python:.0} notifications/s | 1.0x | — |\n\
         | hipchat client, 1 in flight | {one:.0} notifications/s | {r1:.1}x | — |\n\
         | hipchat client, 32 in flight | {many:.0} notifications/s | {r32:.1}x | ≥ 10x |\n\
         | emulator accept rate (raw POSTs, 64 in flight) | {accept:.0} notifications/s | {ra:.1}x | — |\n\
         | `hipkit emulator` time to listening (median of 15) | {startup_ms:.1} ms | | < 20 ms |\n\
         | `hipkit emulator` idle RSS | {idle_rss:.1} MiB | | < 15 MB |\n\
         | `hipkit emulator` RSS after the load phases (history cleared) | {loaded_rss:.1} MiB | | — |\n",
        r1 = one / python,
        r32 = many / python,
        ra = accept / python,
    ))
}
