//! Issue 24's takeover numbers: replicas of `hipkit serve` on one PostgreSQL database. From
//! a `kill -9` of a replica to the first of the messages it had claimed delivered by the
//! other replica (lease expiry), and by the same replica restarted alone under its name
//! (recovery at start); and each replica's idle RSS beside one SQLite node's.
//!
//! The database server is `HIPKIT_TEST_POSTGRES_URL` (a URL whose user may create
//! databases), which `bench/run takeover` sets by starting a throwaway server when it is not
//! set; each phase gets a new database.

use crate::client::{ROOM, TOKEN, spawn_emulator};
use crate::process::{NO_SEND_LIMITS, Spawned, rss_mib, spawn, spawn_with_env};
use crate::serve::add_fault;
use anyhow::{Context, Result, bail};
use hipkit_store::now_millis;
use sqlx::{Connection, PgConnection};
use std::path::Path;
use std::time::{Duration, Instant};

/// The rooms messages go to: each is an ordered lane, so several are in flight at once.
const ROOMS: usize = 8;
/// Messages sent before the kill.
const MESSAGES: usize = 400;
/// How long the emulator holds each room call: deliveries are in flight at the kill.
const DELAY_MS: u64 = 100;
/// The takeover targets (issue 24).
const TAKEOVER_TARGET_MS: f64 = 10_000.0;
const RESTART_TARGET_MS: f64 = 2_000.0;

/// A new, empty database on the test server (`HIPKIT_TEST_POSTGRES_URL`); its URL.
async fn fresh_database() -> String {
    hipkit_store::contract::postgres::fresh_database()
        .await
        .expose()
        .to_owned()
}

fn room(i: usize) -> String {
    format!("{ROOM}{}", i % ROOMS)
}

fn replica(hipkit: &Path, emulator: &str, url: &str, name: &str) -> Result<Spawned> {
    spawn_with_env(
        hipkit,
        &["serve", "--listen", "127.0.0.1:0"],
        &[
            ("HIPCHAT_ENDPOINT", emulator),
            ("HIPCHAT_API_TOKEN", TOKEN),
            ("HIPKIT_STORE", url),
            ("HIPKIT_STORE__REPLICA", name),
            NO_SEND_LIMITS[0],
            NO_SEND_LIMITS[1],
        ],
    )
}

/// Sends [`MESSAGES`] round-robin over the rooms through the replicas' send APIs.
async fn send_all(replicas: &[&Spawned]) -> Result<()> {
    let http = reqwest::Client::new();
    for i in 0..MESSAGES {
        let base = &replicas[i % replicas.len()].base;
        let body = serde_json::json!({"room": room(i), "message": format!("takeover {i}")});
        let status = http
            .post(format!("{base}/api/v1/messages"))
            .json(&body)
            .send()
            .await?
            .status();
        if status.as_u16() != 202 {
            bail!("message {i} refused: {status}");
        }
    }
    Ok(())
}

/// The records in flight under `name`'s claims: their ids and claim counts.
async fn claimed_by(conn: &mut PgConnection, name: &str) -> Result<Orphans> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT id, claims FROM outbox WHERE state = 'in_flight' AND claimed_by = $1",
    )
    .bind(name)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().unzip())
}

/// Records left in flight by a killed replica: ids, and each one's claim count at the kill.
type Orphans = (Vec<String>, Vec<i64>);

/// Waits until one of `replicas` (name, process) holds claims, kills it (SIGKILL), and
/// returns the kill time (ms since the epoch) and the records it left in flight.
async fn kill_a_holder(
    conn: &mut PgConnection,
    replicas: &mut [(&str, Spawned)],
) -> Result<(i64, Orphans)> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let holder: String = loop {
        let holder: Option<String> =
            sqlx::query_scalar("SELECT claimed_by FROM outbox WHERE state = 'in_flight' LIMIT 1")
                .fetch_optional(&mut *conn)
                .await?;
        if let Some(holder) = holder {
            break holder;
        }
        if Instant::now() > deadline {
            bail!("no replica ever held a claim");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let Some((_, victim)) = replicas.iter_mut().find(|(name, _)| *name == holder) else {
        bail!("claims held by an unknown replica {holder}");
    };
    let killed_at = now_millis();
    let _ = victim.child.kill();
    let _ = victim.child.wait();
    let orphaned = claimed_by(conn, &holder).await?;
    if orphaned.0.is_empty() {
        bail!("replica {holder} settled its claims just before the kill; run again");
    }
    Ok((killed_at, orphaned))
}

/// Milliseconds from `killed_at` until the first of `orphaned` is delivered under a later
/// claim than the one it had at the kill: a commit the killed replica had already sent when
/// it died (its own delivery) is not a takeover.
async fn first_delivered(
    conn: &mut PgConnection,
    killed_at: i64,
    orphaned: &Orphans,
) -> Result<f64> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let first: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(o.delivered_at) FROM outbox o \
             JOIN unnest($1::text[], $2::bigint[]) AS k(id, claims) ON o.id = k.id \
             WHERE o.state = 'delivered' AND o.claims > k.claims",
        )
        .bind(&orphaned.0)
        .bind(&orphaned.1)
        .fetch_one(&mut *conn)
        .await?;
        if let Some(at) = first {
            return Ok((at - killed_at) as f64);
        }
        if Instant::now() > deadline {
            bail!(
                "none of the {} orphaned messages delivered within 2 minutes",
                orphaned.0.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn emulator_args() -> Vec<String> {
    let mut args: Vec<String> = ["emulator", "--listen", "127.0.0.1:0", "--token", TOKEN]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for i in 0..ROOMS {
        args.extend(["--room".into(), room(i)]);
    }
    args
}

async fn slow_emulator(hipkit: &Path) -> Result<Spawned> {
    let args = emulator_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let emu = spawn(hipkit, &args)?;
    add_fault(
        &emu.base,
        serde_json::json!({"method": "POST", "path": "/v2/room/", "times": 1_000_000,
            "action": {"delay": {"delay_ms": DELAY_MS}}}),
    )
    .await?;
    Ok(emu)
}

/// Runs every measurement and returns the markdown report.
pub async fn run(hipkit: &Path) -> Result<String> {
    // Idle RSS: one SQLite node beside two replicas on PostgreSQL.
    let emu = spawn_emulator(hipkit)?;
    let dir = tempfile::tempdir()?;
    let sqlite_store = dir.path().join("idle.db");
    let sqlite = spawn_with_env(
        hipkit,
        &["serve", "--listen", "127.0.0.1:0"],
        &[
            ("HIPCHAT_ENDPOINT", emu.base.as_str()),
            ("HIPCHAT_API_TOKEN", TOKEN),
            ("HIPKIT_STORE", sqlite_store.to_str().context("store path")?),
            NO_SEND_LIMITS[0],
            NO_SEND_LIMITS[1],
        ],
    )?;
    let idle_url = fresh_database().await;
    let idle_a = replica(hipkit, &emu.base, &idle_url, "idle-a")?;
    let idle_b = replica(hipkit, &emu.base, &idle_url, "idle-b")?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let sqlite_rss = rss_mib(sqlite.child.id())?;
    let (a_rss, b_rss) = (rss_mib(idle_a.child.id())?, rss_mib(idle_b.child.id())?);
    drop((sqlite, idle_a, idle_b, emu));

    // Takeover: two replicas, one killed; the other takes its claims once their lease ends.
    let emu = slow_emulator(hipkit).await?;
    let url = fresh_database().await;
    let mut conn = PgConnection::connect(&url).await?;
    let mut replicas = [
        ("a", replica(hipkit, &emu.base, &url, "a")?),
        ("b", replica(hipkit, &emu.base, &url, "b")?),
    ];
    send_all(&[&replicas[0].1, &replicas[1].1]).await?;
    let (killed_at, orphaned) = kill_a_holder(&mut conn, &mut replicas).await?;
    let takeover_ms = first_delivered(&mut conn, killed_at, &orphaned).await?;
    let taken = orphaned.0.len();
    drop((replicas, emu));

    // A lone replica killed and restarted under the same name: it takes its own back.
    let emu = slow_emulator(hipkit).await?;
    let url = fresh_database().await;
    let mut conn = PgConnection::connect(&url).await?;
    let mut lone = [("lone", replica(hipkit, &emu.base, &url, "lone")?)];
    send_all(&[&lone[0].1]).await?;
    let (killed_at, orphaned) = kill_a_holder(&mut conn, &mut lone).await?;
    let restarted = replica(hipkit, &emu.base, &url, "lone")?;
    let restart_ms = first_delivered(&mut conn, killed_at, &orphaned).await?;
    let reclaimed = orphaned.0.len();
    drop((lone, restarted, emu));

    Ok(format!(
        "## Replicas on PostgreSQL: takeover and idle memory (issue 24)\n\n\
         Two `hipkit serve` replicas on one PostgreSQL database (default 6 s lease, renewed \
         every 2 s while a delivery lasts), {MESSAGES} messages over {ROOMS} rooms, the emulator \
         holding each room call {DELAY_MS} ms. Times run from the `kill -9` to the first of the \
         killed replica's claimed messages recorded delivered (it includes that delivery's \
         {DELAY_MS} ms).\n\n\
         | measurement | result | ratio to target | target |\n\
         |---|---|---|---|\n\
         | takeover: `kill -9` of one of two replicas → first of its {taken} claimed messages delivered by the other | {takeover_ms:.0} ms | {:.2}x | ≤ 10 s |\n\
         | lone replica `kill -9`, restarted under the same name → first of its {reclaimed} claimed messages delivered | {restart_ms:.0} ms | {:.2}x | ≤ 2 s |\n\
         | idle RSS: replica a / replica b on PostgreSQL | {a_rss:.1} / {b_rss:.1} MiB | {:.2}x / {:.2}x of SQLite's | — |\n\
         | idle RSS: one node on SQLite (baseline) | {sqlite_rss:.1} MiB | 1.00x | < 15 MB |\n",
        takeover_ms / TAKEOVER_TARGET_MS,
        restart_ms / RESTART_TARGET_MS,
        a_rss / sqlite_rss,
        b_rss / sqlite_rss,
    ))
}
