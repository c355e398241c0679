//! Issue 8's number: builds per second accepted by `POST /hooks/buildbot` with one HipChat and
//! one HTTP reporter (each build → two durable outbox records: a HipChat delivery and an HTTP
//! push), beside
//! `POST /api/v1/messages` on the same `hipkit serve` in the same run.

use crate::client::{ROOM, TOKEN, spawn_emulator};
use crate::load::post_rate;
use crate::process::{NO_SEND_LIMITS, spawn_with_env};
use crate::serve::add_fault;
use anyhow::{Context, Result};
use axum::Router;
use axum::routing::post;
use std::path::Path;

/// A Buildbot HttpStatusPush body (the reference's finished FAILURE build), about 1.6 KB.
const BUILD: &str = include_str!("../data/buildbot-build.json");

/// An HTTP receiver that answers every push 200, in this process; returns its URL.
async fn receiver() -> Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/push", listener.local_addr()?);
    let app = Router::new().route("/push", post(|| async { "ok" }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

/// Runs the measurement and returns the markdown report.
pub async fn run(hipkit: &Path, seconds: f64) -> Result<String> {
    let emu = spawn_emulator(hipkit)?;
    // Hold HipChat deliveries (each waits a minute) so both phases measure intake alone.
    add_fault(
        &emu.base,
        serde_json::json!({"times": 1_000_000, "action": {"delay": {"delay_ms": 60_000}}}),
    )
    .await?;
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("hipkit.toml");
    std::fs::write(
        &config,
        format!(
            "[[reporters.hipchat]]\nbuilder_room_map = {{ \"Builder0\" = \"{ROOM}\" }}\n\
             mode = \"all\"\n\n[[reporters.http]]\nserver_url = \"{}\"\n",
            receiver().await?
        ),
    )?;
    let store = dir.path().join("relay.db");
    let serve = spawn_with_env(
        hipkit,
        &["serve", "--listen", "127.0.0.1:0"],
        &[
            ("HIPCHAT_ENDPOINT", emu.base.as_str()),
            ("HIPCHAT_API_TOKEN", TOKEN),
            ("HIPKIT_STORE", store.to_str().context("store path")?),
            ("HIPKIT_CONFIG", config.to_str().context("config path")?),
            NO_SEND_LIMITS[0],
            NO_SEND_LIMITS[1],
        ],
    )?;
    let message = format!(r#"{{"room":"{ROOM}","message":"relay bench baseline"}}"#);
    let send_api = post_rate(
        &format!("{}/api/v1/messages", serve.base),
        None,
        &message,
        seconds,
    )
    .await?;
    let relay = post_rate(
        &format!("{}/hooks/buildbot", serve.base),
        None,
        BUILD,
        seconds,
    )
    .await?;
    Ok(format!(
        "## Build status relay (issue 8)\n\n\
         One run, {seconds} s per phase, 64 requests in flight over loopback to one release \
         `hipkit serve` (SQLite outbox) with one HipChat reporter (mode `all`) and one HTTP \
         reporter configured; each build is a ~1.6 KB HttpStatusPush body and becomes two durable \
         outbox records committed together: a HipChat delivery and an HTTP push (to a receiver in \
         the load generator's process). HipChat deliveries are held (a one-minute fault delay, \
         which also keeps every worker busy) so both phases measure intake.\n\n\
         | measurement | result | ratio | target |\n|---|---|---|---|\n\
         | `POST /api/v1/messages` (baseline, same server) | {send_api:.0} messages/s | 1.00x | — |\n\
         | `POST /hooks/buildbot` | {relay:.0} builds/s | {:.2}x | ≥ 0.40x |\n",
        relay / send_api
    ))
}
